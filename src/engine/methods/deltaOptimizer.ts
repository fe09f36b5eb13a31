import { gradName } from '../autodiff/backward';
import { OBJECTIVE_INPUT } from '../autodiff/objective';
import { LocusError } from '../errors';
import { blockFeeds } from '../graph/feeds';
import { logSoftmax } from '../interp/topk';
import type { ModelConfig } from '../model/config';
import type { Feed, RuntimeSession } from '../runtime/ort';
import type { Tensor } from '../tensor/tensor';
import { adamStep, newAdamState } from '../optim/adam';
import { norm } from './linalg';

/** One optimization step's numbers (ROME's and MEMIT's printed loss line). */
export interface ValueStep {
  readonly loss: number;
  readonly nll: number;
  readonly kl: number;
  readonly weightDecay: number;
  readonly avgProb: number;
}

/** The objective at δ: its NLL and KL terms and ∂(nll + kl)/∂δ summed over the lookup tokens. */
export interface DeltaEvaluation {
  readonly objective: number;
  readonly nll: number;
  readonly kl: number;
  readonly grad: Float32Array;
}

export interface DeltaLoop {
  readonly steps: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly clampNormFactor: number;
  /** ‖v_init‖ (ROME) or ‖z_init‖ (MEMIT): scales the weight decay and the clamp. */
  readonly initNorm: number;
  readonly signal?: AbortSignal;
}

/**
 * The δ loop shared by ROME's compute_v and MEMIT's compute_z (kmeng01/rome, kmeng01/memit):
 * loss = objective(δ) + weight_decay · ‖δ‖ / ‖init‖²; Adam(lr); stop when loss < 0.05; the last
 * iteration only evaluates; after each step ‖δ‖ is clamped to clamp_norm_factor · ‖init‖.
 * (torch's norm gradient at δ = 0 is 0, hence no decay gradient on the first step.)
 */
export async function optimizeDelta(d: number, o: DeltaLoop, evaluate: (delta: Float32Array) => Promise<DeltaEvaluation>): Promise<{ delta: Float32Array; steps: ValueStep[] }> {
  const run = newDeltaRun(d);
  for (let it = 0; it < o.steps; it++) {
    if (o.signal?.aborted) throw new LocusError('cancelled', 'edit cancelled');
    if (deltaStep(run, o, it, await evaluate(run.delta))) break;
  }
  return { delta: run.delta, steps: run.steps };
}

/**
 * optimizeDelta for several independent objectives in lockstep (a study's facts at one layer, issue 17
 * item 4): each has its own δ, Adam state, loop settings and early stop; `evaluate` gets the ones still
 * running (indices into `loops`, with their δs) and answers each one's evaluation, so one batched graph
 * can serve them all. Every objective takes exactly the steps optimizeDelta would (the same deltaStep).
 */
export async function optimizeDeltasLockstep(d: number, loops: readonly DeltaLoop[], evaluate: (active: readonly number[], deltas: readonly Float32Array[]) => Promise<DeltaEvaluation[]>): Promise<Array<{ delta: Float32Array; steps: ValueStep[] }>> {
  const runs = loops.map(() => newDeltaRun(d));
  const done = loops.map((o) => o.steps <= 0);
  for (let it = 0; done.some((x) => !x); it++) {
    if (loops.some((o) => o.signal?.aborted)) throw new LocusError('cancelled', 'edit cancelled');
    const active = loops.map((_, i) => i).filter((i) => !done[i]);
    const evs = await evaluate(active, active.map((i) => runs[i].delta));
    active.forEach((i, k) => {
      done[i] = deltaStep(runs[i], loops[i], it, evs[k]) || it + 1 >= loops[i].steps;
    });
  }
  return runs.map((r) => ({ delta: r.delta, steps: r.steps }));
}

interface DeltaRun {
  readonly delta: Float32Array;
  readonly params: Map<string, Float32Array>;
  readonly adam: ReturnType<typeof newAdamState>;
  readonly steps: ValueStep[];
}

const newDeltaRun = (d: number): DeltaRun => {
  const delta = new Float32Array(d);
  return { delta, params: new Map([['delta', delta]]), adam: newAdamState(), steps: [] };
};

/** Iteration `it` of the loop given the objective at the current δ: records the step; true when the loop stops here. */
function deltaStep(run: DeltaRun, o: DeltaLoop, it: number, ev: DeltaEvaluation): boolean {
  const { delta } = run;
  const d = delta.length;
  const maxNorm = o.clampNormFactor * o.initNorm;
  const dn = norm(delta);
  const wd = o.weightDecay * (dn / (o.initNorm * o.initNorm));
  const loss = ev.objective + wd;
  // avgProb: exp(−mean NLL) (ROME prints the mean over prompts of exp(−per-prompt NLL); close, for logs only).
  run.steps.push({ loss, nll: ev.nll, kl: ev.kl, weightDecay: wd, avgProb: Math.exp(-ev.nll) });
  if (loss < 5e-2 || it === o.steps - 1) return true;
  const g = ev.grad;
  if (dn > 0) for (let j = 0; j < d; j++) g[j] += (o.weightDecay * delta[j]) / (dn * o.initNorm * o.initNorm);
  adamStep(run.params, new Map([['delta', g]]), run.adam, { lr: o.lr });
  const after = norm(delta);
  if (after > maxNorm) for (let j = 0; j < d; j++) delta[j] *= maxNorm / after;
  return false;
}

/** The session key of the objective graph that starts at blocks.{fromLayer}.resid_pre with ∂/∂resid (ROME's v* and MEMIT's z share it). */
export const residObjectiveKey = (fromLayer: number, erase: boolean): string => `objective.resid.${fromLayer}.${erase ? 'erase' : 'nll'}`;

/**
 * One evaluation of the objective graph that starts at a residual stream (residObjectiveKey): feeds
 * `resid` [rows, T, d] plus δ at every row's lookup token (nowhere else — the invariant both ROME's v*
 * and MEMIT's z rely on) and answers the loss terms and ∂/∂δ summed over the lookups.
 */
export async function evaluateResidObjective(session: RuntimeSession, outputs: readonly string[], feeds: Record<string, Feed>, resid: Tensor, lookups: readonly number[], delta: Float32Array): Promise<DeltaEvaluation> {
  const [, T, D] = resid.shape;
  const x = Float32Array.from(resid.data);
  lookups.forEach((idx, i) => {
    for (let j = 0; j < D; j++) x[(i * T + idx) * D + j] += delta[j];
  });
  feeds[OBJECTIVE_INPUT.resid] = { shape: resid.shape, data: x };
  const res = await session.run(feeds, outputs);
  return { objective: res['loss'].data[0], nll: res['nll'].data[0], kl: res['kl'].data[0], grad: sumAtLookups(res[gradName(OBJECTIVE_INPUT.resid)].data, lookups, T, D) };
}

/** Σ over rows i of x[i, idx_i, :] for a [rows, T, d] gradient: ∂/∂δ when δ is added at each row's lookup token. */
export function sumAtLookups(x: Float32Array, lookups: readonly number[], T: number, d: number): Float32Array {
  const g = new Float32Array(d);
  lookups.forEach((idx, i) => {
    for (let j = 0; j < d; j++) g[j] += x[(i * T + idx) * d + j];
  });
  return g;
}

/**
 * The objective-graph feeds ROME's compute_v and MEMIT's compute_z share. `rows` are the tokenized
 * rewriting prompts (each ending with the target's first n−1 tokens) followed by ONE KL prompt;
 * `baseLogits` [1, d_vocab] are the unedited model's at the KL row's lookup token (forward's
 * `logitsAt: klLogitsAt(rows, lookups)`), the KL reference. NLL weights 1/(n·prompts): the mean over
 * prompts of the per-prompt mean target NLL.
 */
export function rewriteObjectiveFeeds(cfg: ModelConfig, rows: readonly (readonly number[])[], lookups: readonly number[], targetIds: readonly number[], baseLogits: Tensor, klFactor: number, layout?: SuffixLayout): Record<string, Feed> {
  const T = Math.max(...rows.map((r) => r.length));
  // Where position p of row i sits in the graph's input: row i's own suffix (layout) or the padded batch.
  const at = (i: number, p: number): number => (layout ? i * layout.width + p - layout.starts[i] : i * T + p);
  const V = cfg.d_vocab;
  const nT = targetIds.length;
  const rewriting = rows.length - 1;
  const targetRows: bigint[] = [];
  const targets: bigint[] = [];
  for (let i = 0; i < rewriting; i++) {
    targetIds.forEach((id, j) => {
      targetRows.push(BigInt(at(i, rows[i].length - nT + j))); // logits at position p predict token p + 1: the last nT positions score the target
      targets.push(BigInt(id));
    });
  }
  const feeds: Record<string, Feed> = {
    [OBJECTIVE_INPUT.rows]: { shape: [targets.length], ids: BigInt64Array.from(targetRows) },
    [OBJECTIVE_INPUT.targets]: { shape: [targets.length], ids: BigInt64Array.from(targets) },
    [OBJECTIVE_INPUT.weights]: { shape: [targets.length], data: new Float32Array(targets.length).fill(1 / (nT * rewriting)) },
    [OBJECTIVE_INPUT.klRows]: { shape: [1], ids: BigInt64Array.from([BigInt(at(rewriting, lookups[rewriting]))]) },
    [OBJECTIVE_INPUT.klRef]: { shape: [1, V], data: Float32Array.from(logSoftmax(baseLogits.data.subarray(0, V))) },
    [OBJECTIVE_INPUT.klWeights]: { shape: [1], data: Float32Array.from([klFactor]) },
    ...(layout ? {} : blockFeeds(cfg, 0, T)),
  };
  return feeds;
}

/**
 * The one base logits row rewriteObjectiveFeeds reads, as forward's `logitsAt`: the KL prompt (the
 * last row) at its lookup token. The head at every position of every row cost more than the blocks
 * (GPT-2 small: 21 rows × ~15 positions × 50257, for one row read; issue 17).
 */
export const klLogitsAt = (rows: readonly (readonly number[])[], lookups: readonly number[]): number[][] => rows.map((_, i) => (i === rows.length - 1 ? [lookups[i]] : []));

/** Row i of the graph's input holds positions starts[i] … of the padded batch, in a row of `width` positions. */
export interface SuffixLayout {
  readonly starts: readonly number[];
  readonly width: number;
}
