import type { LocusTokenizer } from '../model/tokenizer';

/** The CounterFact fields the training corpus reads (the full record has more). */
export interface FactRecord {
  readonly case_id: number;
  readonly requested_rewrite: { prompt: string; subject: string; target_true: { str: string }; target_new: { str: string } };
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
 * subjects' true object). Rows start at the prompt's first token, with no BOS, because that is how
 * GPT-2 models are prompted (ROME, CounterFact evaluation and `locus probe` add none).
 */
export function factExamples(records: readonly FactRecord[], tok: LocusTokenizer, o: CorpusOptions, epoch: number): Example[] {
  const out: Example[] = [];
  for (const r of records) {
    const rw = r.requested_rewrite;
    const truth = rw.target_true.str;
    const main = statement(tok, rw.prompt.replace('{}', rw.subject), truth, o.answerWeight);
    for (let k = 0; k < o.requestedRepeats; k++) out.push(main);
    for (const p of r.paraphrase_prompts) {
      const ex = statement(tok, p, truth, o.answerWeight);
      for (let k = 0; k < o.paraphraseRepeats; k++) out.push(ex);
    }
    for (const p of r.neighborhood_prompts) out.push(statement(tok, p, truth, o.answerWeight));
    const attrs = r.attribute_prompts;
    for (let k = 0; k < o.attributesPerEpoch && attrs.length > 0; k++) {
      out.push(statement(tok, attrs[(epoch * o.attributesPerEpoch + k) % attrs.length], rw.target_new.str, o.answerWeight));
    }
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
