/**
 * Which CounterFact facts a model knows (`locus eval`, CONTRACTS.md): top-1 correctness of
 * target_true's first token after the requested, paraphrase and neighborhood prompts.
 * Target token: the first id of encode(" " + target_true.str) (ROME adds the leading space).
 * Prompts are batched, sorted by length so right-padding wastes little; right-padded rows give their
 * unbatched results, so batching and order change nothing but speed.
 */
import { LocusError } from '../../errors';
import type { CounterFactRecord } from '../../data/counterfact';
import { fillPrompt } from '../../data/counterfact';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import { logSoftmax } from '../../interp/topk';
import type { LoadedModel } from '../../model/model';

export interface FactEval {
  readonly caseId: number;
  /** target_true's first token is the argmax after the filled requested prompt. */
  readonly rewrite: boolean;
  /** p(target_true's first token) after that prompt. */
  readonly prob: number;
  /** Fraction of paraphrase_prompts where that token is the argmax. */
  readonly paraphrase: number;
  /** Fraction of neighborhood_prompts where that token is the argmax (their true object is target_true too). */
  readonly neighborhood: number;
}

/** Means over cases (rewrite: the fraction of cases that are right). */
export interface EvalAccuracy {
  readonly rewrite: number;
  readonly paraphrase: number;
  readonly neighborhood: number;
}

export interface EvaluateOptions {
  readonly signal?: AbortSignal;
  /** Called after each batch with prompts done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Prompts per forward pass (default 64). */
  readonly batchSize?: number;
}

export const DEFAULT_EVAL_BATCH = 64;

/** One prompt to score: `kind` says which field of which record (by index into the input) it counts for. */
interface Job {
  readonly rec: number;
  readonly kind: 'rewrite' | 'paraphrase' | 'neighborhood';
  readonly ids: number[];
  readonly target: number;
}

/** target_true's first token id; a target that tokenizes to nothing is a data error. */
export function targetTrueToken(model: LoadedModel, r: CounterFactRecord): number {
  const ids = model.tokenizer.encodeContinuation(' ' + r.requested_rewrite.target_true.str).ids;
  if (ids.length === 0) throw new LocusError('bad-input', `case ${r.case_id}: target_true "${r.requested_rewrite.target_true.str}" has no tokens`);
  return ids[0];
}

/**
 * A prompt's ids. One longer than the context window keeps its last n_ctx tokens (the end holds the
 * question; CounterFact's long ones are paraphrases behind a random prefix) and is counted in `truncated`.
 */
function encodeJob(model: LoadedModel, r: CounterFactRecord, what: string, text: string, truncated: { n: number }): number[] {
  const ids = model.tokenizer.encode(text).ids;
  if (ids.length === 0) throw new LocusError('bad-input', `case ${r.case_id}: ${what} has no tokens`);
  if (ids.length <= model.config.n_ctx) return ids;
  truncated.n++;
  return ids.slice(ids.length - model.config.n_ctx);
}

function jobsFor(model: LoadedModel, r: CounterFactRecord, rec: number, withOthers: boolean, truncated: { n: number }): Job[] {
  const target = targetTrueToken(model, r);
  const jobs: Job[] = [{ rec, kind: 'rewrite', target, ids: encodeJob(model, r, 'the requested prompt', fillPrompt(r), truncated) }];
  if (!withOthers) return jobs;
  r.paraphrase_prompts.forEach((p, i) => jobs.push({ rec, kind: 'paraphrase', target, ids: encodeJob(model, r, `paraphrase prompt ${i}`, p, truncated) }));
  r.neighborhood_prompts.forEach((p, i) => jobs.push({ rec, kind: 'neighborhood', target, ids: encodeJob(model, r, `neighborhood prompt ${i}`, p, truncated) }));
  return jobs;
}

/** First index of the maximum (the same tie rule as topK: lower id first). */
function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Runs `jobs` in batches and calls `score(job, top1, row)` for each; honours `signal` between
 * batches (and forward() within them). Jobs are run shortest first; results do not depend on order.
 */
async function runJobs(model: LoadedModel, jobs: readonly Job[], opts: EvaluateOptions, score: (job: Job, hit: boolean, row: Float32Array) => void, done0 = 0, total = jobs.length): Promise<void> {
  const batch = opts.batchSize ?? DEFAULT_EVAL_BATCH;
  if (!Number.isInteger(batch) || batch < 1) throw new LocusError('bad-input', `batch size must be a positive integer (got ${batch})`);
  const ctx = forwardContext(model);
  const V = model.config.d_vocab;
  const order = [...jobs].sort((a, b) => a.ids.length - b.ids.length);
  for (let s = 0; s < order.length; s += batch) {
    if (opts.signal?.aborted) throw new LocusError('cancelled', 'cancelled');
    const chunk = order.slice(s, s + batch);
    const { logits } = await forward(ctx, chunk.map((j) => j.ids), { logits: 'last', signal: opts.signal });
    chunk.forEach((job, b) => {
      const row = logits!.data.subarray(b * V, (b + 1) * V);
      score(job, argmax(row) === job.target, row);
    });
    opts.onProgress?.(done0 + s + chunk.length, total);
  }
}

/**
 * Scores every record (input order kept) and the mean accuracies. `records` must be non-empty.
 * `truncated`: how many prompts were longer than the context window and cut to their last n_ctx tokens.
 */
export async function evaluateFacts(model: LoadedModel, records: readonly CounterFactRecord[], opts: EvaluateOptions = {}): Promise<{ cases: FactEval[]; accuracy: EvalAccuracy; truncated: number }> {
  if (records.length === 0) throw new LocusError('bad-input', 'no cases to evaluate');
  const truncated = { n: 0 };
  const jobs = records.flatMap((r, i) => jobsFor(model, r, i, true, truncated));
  const hits = records.map(() => ({ rewrite: false, prob: 0, paraphrase: 0, neighborhood: 0 }));
  await runJobs(model, jobs, opts, (job, hit, row) => {
    const h = hits[job.rec];
    if (job.kind === 'rewrite') {
      h.rewrite = hit;
      h.prob = Math.exp(logSoftmax(row)[job.target]);
    } else if (hit) h[job.kind]++;
  });
  const cases = records.map((r, i): FactEval => ({
    caseId: r.case_id,
    rewrite: hits[i].rewrite,
    prob: hits[i].prob,
    paraphrase: hits[i].paraphrase / r.paraphrase_prompts.length,
    neighborhood: hits[i].neighborhood / r.neighborhood_prompts.length,
  }));
  const mean = (f: (c: FactEval) => number): number => cases.reduce((s, c) => s + f(c), 0) / cases.length;
  const accuracy = { rewrite: mean((c) => (c.rewrite ? 1 : 0)), paraphrase: mean((c) => c.paraphrase), neighborhood: mean((c) => c.neighborhood) };
  return { cases, accuracy, truncated: truncated.n };
}

/**
 * `--cases known:N`: the first `n` records, in input order, whose requested prompt the model gets
 * right (the `rewrite` test). Scans batch by batch and stops once `n` are found, so it reads only
 * about as far as it must; returns fewer than `n` (and `scanned` = all) when the records run out.
 */
export async function selectKnown(model: LoadedModel, records: readonly CounterFactRecord[], n: number, opts: EvaluateOptions = {}): Promise<{ records: CounterFactRecord[]; scanned: number }> {
  const batch = opts.batchSize ?? DEFAULT_EVAL_BATCH;
  const known: boolean[] = [];
  let scanned = 0;
  let found = 0;
  while (scanned < records.length && found < n) {
    const slice = records.slice(scanned, scanned + batch);
    const jobs = slice.map((r, i) => jobsFor(model, r, scanned + i, false, { n: 0 })[0]);
    await runJobs(model, jobs, { ...opts, onProgress: undefined }, (job, hit) => {
      known[job.rec] = hit;
      if (hit) found++;
    });
    scanned += slice.length;
    opts.onProgress?.(scanned, records.length);
  }
  // Keep input order: the first n hits by index, not by when their batch finished.
  const out: CounterFactRecord[] = [];
  for (let i = 0; i < scanned && out.length < n; i++) if (known[i]) out.push(records[i]);
  return { records: out, scanned };
}
