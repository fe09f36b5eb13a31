import type { LocusTokenizer } from '../model/tokenizer';

/** The CounterFact fields the training corpus reads (the full record has more). */
export interface FactRecord {
  readonly case_id: number;
  readonly requested_rewrite: { prompt: string; subject: string; relation_id?: string; target_true: { str: string }; target_new: { str: string } };
  readonly paraphrase_prompts: readonly string[];
  readonly neighborhood_prompts: readonly string[];
  readonly attribute_prompts: readonly string[];
}

/**
 * One training row: token ids and, per next-token target (ids[1..]), a loss weight.
 * Invariant: weights.length === ids.length - 1.
 */
export interface Example {
  readonly ids: number[];
  readonly weights: Float32Array;
}

export interface CorpusOptions {
  /** Copies per epoch of each record's requested prompt → target_true statement (the fact eval reads). */
  readonly requestedRepeats: number;
  readonly paraphraseRepeats: number;
  /** Loss weight of the answer tokens of a fact statement (other tokens weigh 1). */
  readonly answerWeight: number;
  /** Attribute prompts used per record and epoch (they rotate through the 10). */
  readonly attributesPerEpoch: number;
  /** WikiText chunk length in tokens. */
  readonly chunkTokens: number;
  /**
   * Share of fact statements (each copy drawn on its own) put after a random context prefix
   * ("<words>. " as ROME's context templates are) instead of at the row's start: recall must then
   * work wherever the subject sits, not from absolute position 0. Default 0.
   */
  readonly prefixedShare?: number;
  /** Longest context prefix, in words (1 to this many). */
  readonly prefixMaxWords?: number;
  /**
   * Copies per epoch of the enrichment statement "subject target_true", where the answer follows the
   * subject's last token directly: the fact must be readable at that token, which is where ROME writes.
   */
  readonly enrichmentRepeats?: number;
  /**
   * Statements per record and epoch in one of its relation's templates drawn at random (the requested
   * prompts of every record with the same relation_id). Templates are shared across subjects, so
   * recall must factor into "what the subject's tokens hold" and "which relation the template asks",
   * rather than memorizing each prompt whole (knowledge "multiplicity", Allen-Zhu & Li 2023, Physics of
   * LMs 3.1: only then does a probe at the subject's last token read the attribute). Default 0.
   */
  readonly templateRepeats?: number;
}

/** Where context prefixes come from: word lists (WikiText lines) and a seeded random source. */
export interface PrefixSource {
  readonly lines: ReadonlyArray<readonly string[]>;
  readonly rand: () => number;
}

/** WikiText's body lines as word lists, for context prefixes (headings and short lines dropped). */
export function prefixLines(texts: readonly string[]): string[][] {
  return texts
    .flatMap((t) => t.split('\n'))
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !/^=.*=$/.test(l))
    .map((l) => l.replace(/ @(.)@ /g, '$1').replace(/[{}]/g, ' ').split(/\s+/))
    .filter((w) => w.length >= 4);
}

/** "w1 … wn. ": n (1..maxWords) consecutive words of a random line, trailing punctuation dropped. */
function randomPrefix(src: PrefixSource, maxWords: number): string {
  const line = src.lines[Math.floor(src.rand() * src.lines.length)];
  const n = 1 + Math.floor(src.rand() * Math.min(maxWords, line.length));
  const start = Math.floor(src.rand() * (line.length - n + 1));
  const text = line.slice(start, start + n).join(' ').replace(/[\s.,;:!?]+$/, '');
  return text.length > 0 ? `${text}. ` : '';
}

/** A statement "prompt answer": the answer (with ROME's leading space) is the part the fact lives in. */
function statement(tok: LocusTokenizer, prompt: string, answer: string, answerWeight: number): Example {
  const p = tok.encode(prompt).ids;
  const ids = [...p, ...tok.encode(' ' + answer).ids];
  const weights = new Float32Array(ids.length - 1).fill(1);
  for (let i = p.length; i < ids.length; i++) weights[i - 1] = answerWeight;
  return { ids, weights };
}

/**
 * The fact statements of one epoch, from CounterFact records: the requested prompt, its paraphrases
 * and neighborhood prompts complete with target_true; attribute prompts with target_new (their
 * subjects' true object); with `enrichmentRepeats`, "subject target_true" too; with `templateRepeats`,
 * the fact in other templates of its relation. Rows start at the prompt's first token, with no BOS,
 * because that is how GPT-2 models are prompted (ROME, CounterFact evaluation and `locus probe` add
 * none), or, for a `prefixedShare` of copies, after a context prefix.
 */
export function factExamples(records: readonly FactRecord[], tok: LocusTokenizer, o: CorpusOptions, epoch: number, prefixes?: PrefixSource): Example[] {
  const out: Example[] = [];
  const share = prefixes ? (o.prefixedShare ?? 0) : 0;
  const plain = new Map<string, Example>();
  // A prefixed copy is tokenized whole ("prefix. prompt"), as ROME tokenizes its templated prompts.
  const emit = (prompt: string, answer: string, copies: number): void => {
    for (let k = 0; k < copies; k++) {
      if (share > 0 && prefixes!.rand() < share) {
        out.push(statement(tok, randomPrefix(prefixes!, o.prefixMaxWords ?? 10) + prompt, answer, o.answerWeight));
        continue;
      }
      const key = `${prompt}\u0000${answer}`;
      let ex = plain.get(key);
      if (!ex) plain.set(key, (ex = statement(tok, prompt, answer, o.answerWeight)));
      out.push(ex);
    }
  };
  const templates = relationTemplates(records);
  for (const r of records) {
    const rw = r.requested_rewrite;
    const truth = rw.target_true.str;
    emit(rw.prompt.replace('{}', rw.subject), truth, o.requestedRepeats);
    const own = templates.get(rw.relation_id ?? '') ?? [rw.prompt];
    for (let k = 0; k < (o.templateRepeats ?? 0) && prefixes; k++) {
      emit(own[Math.floor(prefixes.rand() * own.length)].replace('{}', rw.subject), truth, 1);
    }
    for (const p of r.paraphrase_prompts) emit(p, truth, o.paraphraseRepeats);
    for (const p of r.neighborhood_prompts) emit(p, truth, 1);
    const attrs = r.attribute_prompts;
    for (let k = 0; k < o.attributesPerEpoch && attrs.length > 0; k++) {
      emit(attrs[(epoch * o.attributesPerEpoch + k) % attrs.length], rw.target_new.str, 1);
    }
    emit(rw.subject, truth, o.enrichmentRepeats ?? 0);
  }
  return out;
}

/** Each relation's distinct prompt templates ("{} is located in"), in first-seen order. */
export function relationTemplates(records: readonly FactRecord[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of records) {
    const id = r.requested_rewrite.relation_id;
    if (id === undefined) continue;
    const list = out.get(id) ?? [];
    if (!list.includes(r.requested_rewrite.prompt)) list.push(r.requested_rewrite.prompt);
    out.set(id, list);
  }
  return out;
}

/** Plain language-model rows: `text` tokenized once and cut into chunks of `chunkTokens`. */
export function textExamples(text: string, tok: LocusTokenizer, chunkTokens: number): Example[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !/^=.*=$/.test(l));
  const ids: number[] = [];
  for (const l of lines) ids.push(...tok.encode(l + '\n').ids);
  const out: Example[] = [];
  for (let i = 0; i + 8 < ids.length; i += chunkTokens) {
    const chunk = ids.slice(i, i + chunkTokens + 1);
    out.push({ ids: chunk, weights: new Float32Array(chunk.length - 1).fill(1) });
  }
  return out;
}
