import { LocusError } from '../../errors';
import { assertFiniteDeep } from '../../files/finite';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { Intervention } from '../../interp/interventions';
import { logSoftmax } from '../../interp/topk';
import type { LoadedModel } from '../../model/model';
import type { ActName } from '../../model/names';
import type { Tensor } from '../../tensor/tensor';
import { answerGradients, prepareAttributionSession } from './answerGradients';
import { windowLayers } from './cells';
import { noiseDraws, noiseLevel } from './noise';
import { tracePrompt } from './trace';
import type { TraceGrid, TraceKind, TraceRequest, TraceScore } from './types';

/**
 * What the linear estimate is taken of: `prob` (default) — p(answer) itself, the trace's metric;
 * `logprob` — log p(answer), exponentiated back to a probability (capped at 1). Measured on
 * gpt2-facts-trained's Eiffel trace (test/model/attribution.test.ts, Pearson r with ROME's exact grids,
 * hidden / mlp W=10 / attn W=10): prob 0.68 / 0.75 / 0.96, logprob 0.52 / 0.79 / 0.79 — log p is not
 * saturated at the corrupted run (∂p/∂a = p · ∂log p/∂a vanishes as p → 0) and helps the MLP windows a
 * little, but its exponential over-shoots the large restores, so p stays the default.
 */
export type AttributionMetric = 'prob' | 'logprob';

export interface AttributionRequest extends Omit<TraceRequest, 'samples'> {
  readonly metric?: AttributionMetric;
}

/** An approximate trace grid (same shape and meaning as TraceResult's grids), from one forward + backward. */
export interface AttributionPreview {
  readonly tokens: string[];
  readonly ids: number[];
  readonly subjectRange: [number, number];
  readonly answer: { id: number; token: string; ids: number[] };
  /** p(answer) on the clean run. */
  readonly highScore: number;
  /** p(answer) on the corrupted run (the first noise sample only: the exact trace's low score is the mean over samples). */
  readonly lowScore: number;
  readonly noiseLevel: number;
  readonly seed: number;
  readonly score: TraceScore;
  readonly metric: AttributionMetric;
  readonly approximate: true;
  readonly grids: Partial<Record<TraceKind, TraceGrid>>;
  readonly seconds: number;
}

/**
 * Resident memory the preview's gradient session adds, estimated: 10 bytes per parameter, measured on
 * GPT-2 small (+1.25 GB RSS for 124 M float32 parameters, bench attribution) — the objective graph bakes
 * in a copy of the weights and ORT's optimizer adds transposed ones for the backward.
 */
export const attributionSessionBytes = (model: LoadedModel): number => 10 * model.manifest.parameters;

/** prepareAttributionPreview prepares nothing for a model whose gradient session would add more than this (GPT-2 small: 1.2 GB). */
const PREPARE_MEMORY_LIMIT = 2 * 2 ** 30;

/** Positions of the warm-up run (prepareAttributionPreview): longer than most trace prompts. */
const WARM_POSITIONS = 16;

const siteOf = (kind: TraceKind, layer: number): ActName => (kind === 'hidden' ? `blocks.${layer}.resid_post` : `blocks.${layer}.${kind}.out`);

/** Σ_j (clean − corrupted)_j · grad_j at position t: `run` is [2, pos, d] (row 0 clean, row 1 corrupted), `grad` [pos, d]. */
function dotAt(run: Tensor, grad: Float32Array, t: number, T: number, D: number): number {
  const corrupted = T * D;
  let s = 0;
  for (let j = t * D; j < (t + 1) * D; j++) s += (run.data[j] - run.data[corrupted + j]) * grad[j];
  return s;
}

/**
 * Attribution patching (Nanda 2023, "Attribution Patching"; Syed, Rager & Conmy 2023, "Attribution
 * Patching Outperforms Automated Circuit Discovery"): the causal-trace grid estimated to first order.
 * With a_clean and a_corr the clean and corrupted (subject noised with the trace's first noise draw,
 * RandomState(seed)) activations and g = ∂ metric / ∂a on the corrupted run, restoring cell (t, l, kind)
 * changes the metric by about (a_clean − a_corr)(t, l) · g(t, l); a window (mlp/attn, W > 1) sums the
 * estimates over its layers. One clean forward, one corrupted forward and one backward serve every cell.
 *
 * Sites: hidden = blocks.l.resid_post; mlp/attn = blocks.l.{mlp,attn}.out. mlp.out is added straight
 * into resid_post (GPT-2: resid_post = resid_mid + mlp.out; parallel blocks: attn + mlp + resid_pre),
 * so ∂/∂resid_post_l = ∂/∂mlp.out_l and the objective graph's hook sites give all three kinds.
 *
 * It is a Taylor expansion around the corrupted run, so it is poor where the metric is far from linear
 * over the restore: restoring the subject's last token at an early layer moves p from ~0 to ~1 through
 * the softmax's saturated ends (p's gradient ≈ 0 at p ≈ 0 under-estimates; the linear step ignores
 * the layers' nonlinearity, attention re-weighting in particular, so windows over many layers add
 * errors). The `logprob` metric (see AttributionMetric) is the usual remedy for the saturation.
 */
export async function attributionPreview(model: LoadedModel, req: AttributionRequest, opts: { signal?: AbortSignal } = {}): Promise<AttributionPreview> {
  const t0 = Date.now();
  const cfg = model.config;
  const L = cfg.n_layers;
  const D = cfg.d_model;
  const kinds = req.kinds ?? ['hidden', 'mlp', 'attn'];
  const window = req.window ?? 10;
  const seed = req.seed ?? 1;
  const metric = req.metric ?? 'prob';
  const scoreMode = req.score ?? 'first-token';
  if (!Number.isInteger(window) || window < 1) throw new LocusError('bad-input', `window must be a positive integer (got ${window})`);
  const { enc, b, e, P, ctx, targetIds } = tracePrompt(model, req);
  const seqMode = scoreMode === 'sequence' && targetIds !== undefined && targetIds.length > 1;
  // Sequence scoring teacher-forces the answer (as the trace): input prompt + answer[:-1].
  const ids = seqMode ? [...enc.ids, ...targetIds.slice(0, -1)] : enc.ids;
  const T = ids.length;
  if (T > cfg.n_ctx) throw new LocusError('bad-input', `prompt and answer have ${T} tokens; the context window is ${cfg.n_ctx}`);
  const sites: ActName[] = [];
  for (let l = 0; l < L; l++) sites.push(`blocks.${l}.resid_post`, `blocks.${l}.mlp.out`, `blocks.${l}.attn.out`);
  const sigma = noiseLevel(model, req.noise ?? 's3', req.noiseSubjects ?? [req.subject]);
  // The trace's first noised copy: RandomState(seed).randn(1, …) is the first row of randn(S, …).
  const noise = noiseDraws(1, e - b, D, sigma, seed);
  // Clean (row 0) and corrupted (row 1) in one batch: each block's session runs once for both.
  const corruptIv: Intervention = { kind: 'add', site: 'embed', rows: [1], positions: Array.from({ length: e - b }, (_, i) => b + i), values: noise };
  // Logits at every position only when a sequence is scored; otherwise the last (P − 1) alone.
  const both = await forward(ctx, [ids, ids], { interventions: [corruptIv], fetch: ['blocks.0.resid_pre', ...sites], logits: seqMode ? 'all' : 'last', signal: opts.signal });
  const V = cfg.d_vocab;
  const logpAt = (p: number): Float32Array => {
    const row = seqMode ? p : 0; // row 0's logits come first: [2, d_vocab], or [2, pos, d_vocab] for a sequence
    return Float32Array.from(logSoftmax(both.logits!.data.subarray(row * V, (row + 1) * V)));
  };
  const answerIds = targetIds ? (seqMode ? targetIds : [targetIds[0]]) : [logpAt(P - 1).reduce((best, v, i, a) => (v > a[best] ? i : best), 0)];
  const scored = answerIds.map((_, k) => P - 1 + k);
  const highScore = Math.exp(scored.reduce((s, p, k) => s + logpAt(p)[answerIds[k]], 0));

  const residPre = both.acts.get('blocks.0.resid_pre')!; // [2, T, D]
  const corruptedResid = { shape: [1, T, D], data: residPre.data.subarray(T * D, 2 * T * D) }; // [1, T, D]
  const grads = await answerGradients(model, corruptedResid, scored, answerIds, opts.signal);
  const lowLog = grads.logProb;
  const lowScore = Math.exp(lowLog);

  /** The estimated restored probability from the estimated change of log p (Δ log p) — see AttributionMetric. */
  const estimate = (dLog: number): number => (metric === 'prob' ? lowScore + lowScore * dLog : Math.exp(Math.min(0, lowLog + dLog)));
  const grids: Partial<Record<TraceKind, TraceGrid>> = {};
  for (const kind of kinds) {
    const grid = Array.from({ length: P }, () => new Array<number>(L).fill(lowScore));
    // Per-layer linear terms of ∂ log p at each token; a window sums them (tokens before the subject are not changed by the noise: 0).
    const term = (t: number, l: number): number => {
      const site = kind === 'attn' ? 'attn.out' : 'mlp.out'; // hidden: ∂/∂resid_post_l = ∂/∂mlp.out_l
      return dotAt(both.acts.get(siteOf(kind, l))!, grads.grad(site, l), t, T, D);
    };
    for (let t = b; t < P; t++) {
      const perLayer = Array.from({ length: L }, (_, l) => term(t, l));
      for (let l = 0; l < L; l++) {
        const restored = kind === 'hidden' ? [l] : windowLayers(l, window, L);
        grid[t][l] = estimate(restored.reduce((s, k) => s + perLayer[k], 0));
      }
    }
    grids[kind] = { window: kind === 'hidden' ? 1 : window, scores: grid };
  }
  assertFiniteDeep('the attribution preview', { highScore, lowScore, grids }, () => false, 'the model or the noise overflows; check the weights and --noise');
  return {
    tokens: enc.tokens,
    ids: enc.ids,
    subjectRange: [b, e],
    answer: { id: answerIds[0], token: model.tokenizer.decode(answerIds), ids: answerIds },
    highScore,
    lowScore,
    noiseLevel: sigma,
    seed,
    score: scoreMode,
    metric,
    approximate: true,
    grids,
    seconds: (Date.now() - t0) / 1000,
  };
}

/**
 * Makes the first preview as fast as a warm one (a worker's idle time after a load, beside
 * prepareTraceSessions): creates the gradient session and runs the preview's two-row forward and its
 * forward + backward once on a dummy prompt, so ORT's memory arenas have grown before a user waits.
 * Measured on the GPT-2-small-shaped bench model: the first preview after the session alone took 1.8 s
 * (cpu 0.37 s) against 0.4 s warm. A model whose session would add more than PREPARE_MEMORY_LIMIT is
 * left alone: idle time should not double a large model's memory for a preview nobody asked for yet.
 */
export async function prepareAttributionPreview(model: LoadedModel, signal?: AbortSignal): Promise<void> {
  const cfg = model.config;
  if (attributionSessionBytes(model) > PREPARE_MEMORY_LIMIT) return;
  // One native call at a time, yielding between them, so a request that arrives meanwhile waits for one (as prepareTraceSessions).
  const check = async (): Promise<void> => {
    if (signal?.aborted) throw new LocusError('cancelled', 'cancelled');
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  await check();
  await prepareAttributionSession(model);
  await check();
  const T = Math.min(WARM_POSITIONS, cfg.n_ctx);
  const sites: ActName[] = [];
  for (let l = 0; l < cfg.n_layers; l++) sites.push(`blocks.${l}.resid_post`, `blocks.${l}.mlp.out`, `blocks.${l}.attn.out`);
  const ids = new Array<number>(T).fill(0);
  const both = await forward(forwardContext(model), [ids, ids], { fetch: ['blocks.0.resid_pre', ...sites], logits: 'last', signal });
  const resid = both.acts.get('blocks.0.resid_pre')!;
  await check();
  await answerGradients(model, { shape: [1, T, cfg.d_model], data: resid.data.subarray(T * cfg.d_model) }, [T - 1], [0], signal);
}

/** Pearson's correlation of two grids' cells from token `from` on (the cells a trace runs); NaN when either is constant. */
export function gridCorrelation(a: readonly (readonly number[])[], b: readonly (readonly number[])[], from = 0): number {
  const x: number[] = [];
  const y: number[] = [];
  for (let t = from; t < a.length; t++) {
    for (let l = 0; l < a[t].length; l++) {
      x.push(a[t][l]);
      y.push(b[t][l]);
    }
  }
  const mean = (v: number[]): number => v.reduce((s, q) => s + q, 0) / v.length;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
