/**
 * Checks a facts file's lines against a model (`locus assert`). Each answer is scored teacher-forced
 * after its prompt (ROME's evaluation: prompt + answer[:-1] in one forward, the answer's tokens read
 * at positions P−1 … P+n−2). Answers are taken verbatim (CONTRACTS.md writes " Africa" with its
 * space) and encoded as a continuation of the prompt.
 */
import { LocusError } from '../../errors';
import { forward } from '../../interp/forward';
import { generate } from '../../interp/generate';
import { encodePrompt, forwardContext } from '../../interp/probe';
import { logSoftmax } from '../../interp/topk';
import type { LoadedModel } from '../../model/model';
import type { AssertProtocol, FactCheck } from './facts';

/** One answer's score under a line's protocol. */
export interface AnswerScore {
  readonly answer: string;
  /** p(first token) for `first-token`; the product of the teacher-forced token probabilities for `sequence`. */
  readonly prob: number;
  /** The first token's rank (`first-token`) or the worst rank among the answer's tokens (`sequence`); 1 = top. */
  readonly rank: number;
}

export interface FactOutcome {
  readonly check: FactCheck;
  readonly passed: boolean;
  readonly expected: AnswerScore;
  /** What the model says instead: its greedy continuation, as long as the expected answer in tokens (`first-token`: one token). */
  readonly gave: { text: string; prob: number };
  readonly forbidden: AnswerScore[];
  /** Why it failed, one phrase per broken condition (empty when it passed). */
  readonly reasons: string[];
  /** One line: the prompt, what was expected, what the model gave. */
  readonly message: string;
}

export interface AssertOptions {
  readonly signal?: AbortSignal;
  /** Rows per forward (default 8: each row's logits are pos × d_vocab floats). */
  readonly batchSize?: number;
}

interface Row {
  readonly prompt: number[];
  readonly answer: number[];
}

const fmtP = (p: number): string => (p >= 0.01 || p === 0 ? p.toFixed(3) : p.toExponential(1));

/** Teacher-forced per-token log-prob and rank of each row's answer. */
async function scoreRows(model: LoadedModel, rows: readonly Row[], protocol: (i: number) => AssertProtocol, opts: AssertOptions): Promise<{ logprob: number; rank: number; top: number; topLogprob: number }[]> {
  const V = model.config.d_vocab;
  const n = opts.batchSize ?? 8;
  const out: { logprob: number; rank: number; top: number; topLogprob: number }[] = [];
  for (let i = 0; i < rows.length; i += n) {
    const chunk = rows.slice(i, i + n);
    // first-token reads only position P−1: the answer's later tokens need not be fed.
    const inputs = chunk.map((r, j) => (protocol(i + j) === 'sequence' ? [...r.prompt, ...r.answer.slice(0, -1)] : r.prompt));
    // Only first-token rows: each row's last position is all that is read ([batch, d_vocab], not [batch, pos, d_vocab]).
    const lastOnly = chunk.every((_, j) => protocol(i + j) === 'first-token');
    const { logits } = await forward(forwardContext(model), inputs, { logits: lastOnly ? 'last' : 'all', signal: opts.signal });
    const T = Math.max(...inputs.map((x) => x.length));
    chunk.forEach((r, b) => {
      const answer = protocol(i + b) === 'sequence' ? r.answer : r.answer.slice(0, 1);
      let logprob = 0;
      let rank = 1;
      let top = 0;
      let topLogprob = 0;
      answer.forEach((id, k) => {
        const at = lastOnly ? b : b * T + r.prompt.length - 1 + k;
        const lp = logSoftmax(logits!.data.subarray(at * V, (at + 1) * V)); // [d_vocab]
        let above = 0;
        let best = 0;
        for (let v = 0; v < V; v++) {
          if (lp[v] > lp[id]) above++;
          if (lp[v] > lp[best]) best = v;
        }
        if (!Number.isFinite(lp[id])) throw new LocusError('non-finite', 'the model computes NaN/Inf for this prompt (check its weights)');
        logprob += lp[id];
        rank = Math.max(rank, above + 1);
        if (k === 0) [top, topLogprob] = [best, lp[best]];
      });
      out.push({ logprob, rank, top, topLogprob });
    });
  }
  return out;
}

function encodeAnswer(model: LoadedModel, c: FactCheck, answer: string, what: string): number[] {
  const ids = model.tokenizer.encodeContinuation(answer).ids;
  if (ids.length === 0) throw new LocusError('bad-input', `line ${c.line}: ${what} "${answer}" has no tokens`);
  return ids;
}

function describe(c: FactCheck, expected: AnswerScore, gave: { text: string; prob: number }, reasons: string[]): string {
  const wanted = [`rank ≤ ${c.maxRank}`, ...(c.minProb !== undefined ? [`p ≥ ${c.minProb}`] : []), ...(c.forbid.length > 0 ? [`above ${c.forbid.map((f) => JSON.stringify(f)).join(', ')}`] : [])];
  const spaceHint = /^\S/.test(c.expect) && /\S$/.test(c.prompt) && /^\s/.test(gave.text) ? ` (note: ${JSON.stringify(c.expect)} has no leading space; the model continues with one)` : '';
  return (
    `line ${c.line}: ${JSON.stringify(c.prompt)} expected ${JSON.stringify(c.expect)} (${wanted.join(', ')}; ${c.protocol}) — ` +
    `model gave ${JSON.stringify(gave.text)} (p ${fmtP(gave.prob)}); ${JSON.stringify(c.expect)} has rank ${expected.rank}, p ${fmtP(expected.prob)}: ${reasons.join('; ')}${spaceHint}`
  );
}

/** Scores every line (all lines are checked, failing or not, so a CI report lists every failure). */
export async function checkFacts(model: LoadedModel, checks: readonly FactCheck[], opts: AssertOptions = {}): Promise<FactOutcome[]> {
  const rows: Row[] = [];
  const protocols: AssertProtocol[] = [];
  const firstRow: number[] = [];
  for (const c of checks) {
    let prompt: number[];
    try {
      prompt = encodePrompt(model, c.prompt).ids;
    } catch (e) {
      throw new LocusError('bad-input', `line ${c.line}: ${(e as Error).message}`);
    }
    const expect = encodeAnswer(model, c, c.expect, 'the expected answer');
    if (prompt.length + expect.length - 1 > model.config.n_ctx) throw new LocusError('bad-input', `line ${c.line}: prompt and answer exceed the model's context window of ${model.config.n_ctx} tokens`);
    firstRow.push(rows.length);
    rows.push({ prompt, answer: expect });
    protocols.push(c.protocol);
    for (const f of c.forbid) {
      const ids = encodeAnswer(model, c, f, 'the forbidden answer');
      if (f === c.expect) throw new LocusError('bad-input', `line ${c.line}: ${JSON.stringify(f)} is both expected and forbidden`);
      if (c.protocol === 'first-token' && ids[0] === expect[0]) {
        throw new LocusError('bad-input', `line ${c.line}: forbidden ${JSON.stringify(f)} starts with the same token as ${JSON.stringify(c.expect)}; first-token scoring cannot tell them apart (use "protocol": "sequence")`);
      }
      rows.push({ prompt, answer: ids });
      protocols.push(c.protocol);
    }
  }
  const scores = await scoreRows(model, rows, (i) => protocols[i], opts);
  const outcomes: FactOutcome[] = [];
  for (const [i, c] of checks.entries()) {
    const s = scores[firstRow[i]];
    const expected: AnswerScore = { answer: c.expect, prob: Math.exp(s.logprob), rank: s.rank };
    const forbidden = c.forbid.map((f, j) => {
      const fs = scores[firstRow[i] + 1 + j];
      return { answer: f, prob: Math.exp(fs.logprob), rank: fs.rank };
    });
    const reasons: string[] = [];
    if (expected.rank > c.maxRank) reasons.push(`rank ${expected.rank} > ${c.maxRank}`);
    if (c.minProb !== undefined && expected.prob < c.minProb) reasons.push(`p ${fmtP(expected.prob)} < ${c.minProb}`);
    for (const f of forbidden) if (f.prob >= expected.prob) reasons.push(`forbidden ${JSON.stringify(f.answer)} has p ${fmtP(f.prob)} ≥ ${fmtP(expected.prob)}`);
    const passed = reasons.length === 0;
    let gave = { text: model.tokenizer.tokenText(s.top), prob: Math.exp(s.topLogprob) };
    if (!passed && c.protocol === 'sequence' && rows[firstRow[i]].answer.length > 1) gave = await greedy(model, rows[firstRow[i]], opts.signal);
    outcomes.push({ check: c, passed, expected, gave, forbidden, reasons, message: passed ? '' : describe(c, expected, gave, reasons) });
  }
  return outcomes;
}

/** The greedy continuation as long as the expected answer, and its probability (for the failure line). */
async function greedy(model: LoadedModel, row: Row, signal?: AbortSignal): Promise<{ text: string; prob: number }> {
  const maxLength = Math.min(model.config.n_ctx, row.prompt.length + row.answer.length);
  const [ids] = await generate(forwardContext(model), [row.prompt], { maxLength, topK: 1, seed: 0, signal });
  const added = ids.slice(row.prompt.length);
  const [s] = await scoreRows(model, [{ prompt: row.prompt, answer: added }], () => 'sequence', { signal });
  return { text: model.tokenizer.decode(added), prob: Math.exp(s.logprob) };
}
