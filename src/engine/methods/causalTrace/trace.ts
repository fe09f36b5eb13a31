import { LocusError } from '../../errors';
import { assertFiniteArray, assertFiniteDeep } from '../../files/finite';
import { forward, forwardFrom } from '../../interp/forward';
import type { Intervention } from '../../interp/interventions';
import { forwardContext } from '../../interp/probe';
import { logSoftmax } from '../../interp/topk';
import type { LoadedModel } from '../../model/model';
import type { ActName } from '../../model/names';
import type { Tensor } from '../../tensor/tensor';
import { traceCells } from './cells';
import type { Cell } from './cells';
import { fractionalEffect, lastSubjectEffect } from './effect';
import { noiseDraws, noiseLevel } from './noise';
import { sweepToken } from './sweep';
import type { SweepRuns } from './sweep';
import type { TraceGrid, TraceKind, TraceProgress, TraceRequest, TraceResult } from './types';

export interface TraceOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TraceProgress) => void;
  /** At most this many rows (cells × samples) in one batch; larger batches amortize each block's weights. */
  readonly maxRows?: number;
}

/**
 * Causal Tracing with ROME's semantics (calculate_hidden_flow): the subject's token embeddings of
 * S copies are noised with σ·RandomState(seed).randn(S, e−b, d); each cell restores the clean state
 * at (token, layer) — the block output, or the MLP / attention outputs over a window of layers — and
 * scores the answer's probability, averaged over the copies.
 *
 * Exact work-sharing (same numbers as running every cell from scratch): one clean and one corrupted
 * run serve every cell; each restored run starts at the first block it changes, from the corrupted
 * run's residual stream there; cells that start at the same block are batched, and window cells share
 * their rows until their restores differ (sweep.ts); tokens before the
 * subject are not run (causal attention: restoring them changes nothing, so they score the low score);
 * logits are computed only at the scored positions.
 */
/** NumPy's RandomState takes seeds in [0, 2³² − 1]; the noise draws must match it. */
export const MAX_SEED = 2 ** 32 - 1;

/** The corrupted run's working memory may not exceed this (the machine this was measured on has 24 GiB). */
const TRACE_MEMORY_LIMIT = 4 * 2 ** 30;

/**
 * Bytes the corrupted run of S noised copies needs, per row and position: residuals at L + 1 sites and
 * keys/values at L layers ((3L + 1)·d floats), the MLP's hidden layer (4d) and the logits (V), times 6
 * for what the cell batches and the runtime's arena add. Calibrated on the embedded model, 8-token
 * prompt, hidden grid: 1,000 samples peaked at 2.5 GB RSS (this estimate: 2.5 GB); 5,000 grew past
 * 6 GB in a minute and 50,000 past 23 GB before the kernel killed it.
 */
export function traceMemoryBytes(S: number, T: number, cfg: LoadedModel['config']): number {
  return 6 * S * T * 4 * (cfg.d_model * (3 * cfg.n_layers + 1) + 4 * cfg.d_model + cfg.d_vocab);
}

/**
 * The prompt encoded with the subject's token span [b, e), its length P, a forward context, and the
 * target's ids when one is given (`targetIds` as given, else `target` led by a space) — shared by the
 * trace and its attribution preview.
 */
export function tracePrompt(
  model: LoadedModel,
  req: Pick<TraceRequest, 'prompt' | 'subject' | 'target' | 'targetIds'>,
): { enc: ReturnType<LoadedModel['tokenizer']['encode']>; b: number; e: number; P: number; ctx: ReturnType<typeof forwardContext>; targetIds: number[] | undefined } {
  if (req.prompt.length === 0) throw new LocusError('bad-input', 'the prompt is empty');
  const enc = model.tokenizer.encode(req.prompt);
  const [b, e] = model.tokenizer.findSpan(enc, req.prompt, req.subject);
  const P = enc.ids.length;
  const ctx = forwardContext(model);

  const targetIds = req.targetIds !== undefined ? [...req.targetIds] : req.target === undefined ? undefined : model.tokenizer.encodeContinuation(/^\s/.test(req.target) ? req.target : ' ' + req.target).ids;
  if (targetIds && targetIds.length === 0) throw new LocusError('bad-input', 'the target is empty');
  return { enc, b, e, P, ctx, targetIds };
}

/** Refuses a sample count whose corrupted run would not fit in memory (before anything is allocated). */
function assertTraceFits(S: number, T: number, cfg: LoadedModel['config']): void {
  const bytes = traceMemoryBytes(S, T, cfg);
  if (bytes > TRACE_MEMORY_LIMIT) {
    const maxS = Math.max(1, Math.floor((TRACE_MEMORY_LIMIT / bytes) * S));
    throw new LocusError('bad-input', `samples ${S} would need about ${(bytes / 2 ** 30).toFixed(1)} GiB for this model and prompt (limit ${TRACE_MEMORY_LIMIT / 2 ** 30} GiB): use at most ${maxS} samples`);
  }
}

/** Grids running per model: a worker's warm-up (prepare.ts) steps aside for them instead of competing for the one core. */
const running = new WeakMap<LoadedModel, number>();

/** Whether a trace grid is running on `model` now. */
export function traceRunning(model: LoadedModel): boolean {
  return (running.get(model) ?? 0) > 0;
}

export async function runCausalTrace(model: LoadedModel, req: TraceRequest, opts: TraceOptions = {}): Promise<TraceResult> {
  running.set(model, (running.get(model) ?? 0) + 1);
  try {
    return await traceGrid(model, req, opts);
  } finally {
    running.set(model, running.get(model)! - 1);
  }
}

async function traceGrid(model: LoadedModel, req: TraceRequest, opts: TraceOptions): Promise<TraceResult> {
  const t0 = Date.now();
  const cfg = model.config;
  const L = cfg.n_layers;
  const kinds = req.kinds ?? ['hidden', 'mlp', 'attn'];
  const window = req.window ?? 10;
  const S = req.samples ?? 10;
  const seed = req.seed ?? 1;
  const scoreMode = req.score ?? 'first-token';
  if (!Number.isInteger(S) || S < 1) throw new LocusError('bad-input', `samples must be a positive integer (got ${S})`);
  if (!Number.isInteger(window) || window < 1) throw new LocusError('bad-input', `window must be a positive integer (got ${window})`);
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new LocusError('bad-input', `seed must be an integer from 0 to ${MAX_SEED} (NumPy's RandomState range; got ${seed})`);
  const { enc, b, e, P, ctx, targetIds } = tracePrompt(model, req);
  // Sequence scoring teacher-forces the answer: the input is prompt + answer[:-1], scored at P−1 … P+n−2.
  const sites: ActName[] = ['blocks.0.resid_pre'];
  for (let l = 0; l < L; l++) sites.push(`blocks.${l}.resid_post`, `blocks.${l}.mlp.out`, `blocks.${l}.attn.out`);
  const promptRun = await forward(ctx, [enc.ids], { fetch: sites, signal: opts.signal });
  const argmax = (row: Float32Array): number => row.reduce((best, v, i, a) => (v > a[best] ? i : best), 0);
  const answerIds = targetIds ?? [argmax(promptRun.logits!.data)];
  const seqMode = scoreMode === 'sequence' && answerIds.length > 1;
  const ids = seqMode ? [...enc.ids, ...answerIds.slice(0, -1)] : enc.ids;
  const T = ids.length;
  if (T > cfg.n_ctx) throw new LocusError('bad-input', `prompt and answer have ${T} tokens; the context window is ${cfg.n_ctx}`);
  const scored = seqMode ? answerIds.map((_, k) => P - 1 + k) : [P - 1];
  const clean = seqMode ? await forward(ctx, [ids], { fetch: sites, signal: opts.signal }) : promptRun;

  /** Mean over rows [r0, r0 + S) of p(answer): first token, or the product over the answer's tokens. */
  const scoreRows = async (logits: Tensor, r0: number, perRow: number): Promise<number> => {
    const V = cfg.d_vocab;
    let total = 0;
    for (let r = r0; r < r0 + S; r++) {
      let p = 1;
      for (let k = 0; k < (seqMode ? answerIds.length : 1); k++) {
        const row = logits.data.subarray((r * perRow + k) * V, (r * perRow + k + 1) * V);
        p *= Math.exp(logSoftmax(row)[answerIds[k]]);
      }
      total += p;
    }
    return total / S;
  };
  const logitOpts = seqMode ? { logitPositions: scored } : {};
  // Restored runs always score explicit positions (their rows may be suffixes of the prompt).
  const perRow = scored.length;
  // Clean score: row 0 of the clean run, at the scored positions.
  const cleanLogits = seqMode ? (await forwardFrom(ctx, 0, clean.acts.get('blocks.0.resid_pre')!, [T], logitOpts)).logits! : clean.logits!;
  const highScore = await (async () => {
    let p = 1;
    for (let k = 0; k < perRow; k++) p *= Math.exp(logSoftmax(cleanLogits.data.subarray(k * cfg.d_vocab, (k + 1) * cfg.d_vocab))[answerIds[k]]);
    return p;
  })();

  assertTraceFits(S, T, cfg);
  const sigma = noiseLevel(model, req.noise ?? 's3', req.noiseSubjects ?? [req.subject]);
  const noise = noiseDraws(S, e - b, cfg.d_model, sigma, seed);
  // σ·z is stored as float32: a σ beyond ~1e38 / 5 overflows to Inf and every score after it is NaN.
  assertFiniteArray(`the subject noise (σ = ${sigma})`, noise.data, 'σ overflows float32; use s3 or a smaller number');
  const rowsS = Array.from({ length: S }, (_, i) => i);
  const corruptIv: Intervention = { kind: 'add', site: 'embed', rows: rowsS, positions: Array.from({ length: e - b }, (_, i) => b + i), values: noise };
  const corruptSites: ActName[] = ['blocks.0.resid_pre', ...Array.from({ length: L }, (_, l): ActName => `blocks.${l}.resid_post`)];
  const corrupted = await forward(ctx, Array.from({ length: S }, () => ids), { interventions: [corruptIv], fetch: corruptSites, keysValues: true, signal: opts.signal, ...(seqMode ? { logits: 'none' } : {}) });
  const corruptLogits = seqMode ? (await forwardFrom(ctx, L, corrupted.acts.get(`blocks.${L - 1}.resid_post`)!, ids.map(() => T), logitOpts)).logits! : corrupted.logits!;
  const lowScore = await scoreRows(corruptLogits, 0, perRow);

  const cells = traceCells(kinds, b, P, L, window);
  const scores = new Map<Cell, number>();
  let done = 0;
  opts.onProgress?.({ done, total: cells.length });
  const runs: SweepRuns = {
    T,
    S,
    clean: (site) => clean.acts.get(site)!,
    residIn: (f) => corrupted.acts.get(f === 0 ? 'blocks.0.resid_pre' : `blocks.${f - 1}.resid_post`)!,
    kv: (l) => corrupted.kv!.get(l)!,
    scored,
    answerIds,
    signal: opts.signal,
  };
  // One sweep per token (sweep.ts); more cells than maxRows / S run as several sweeps.
  const maxCells = Math.max(1, Math.floor((opts.maxRows ?? 480) / S));
  for (let t = b; t < P; t++) {
    const all = cells.filter((c) => c.t === t).sort((x, y) => x.start - y.start);
    for (let i = 0; i < all.length; i += maxCells) {
      const group = all.slice(i, i + maxCells);
      for (const [c, s] of await sweepToken(ctx, runs, t, group)) scores.set(c, s);
      done += group.length;
      opts.onProgress?.({ done, total: cells.length, cells: group.map((c) => ({ kind: c.kind, t: c.t, layer: c.layer, score: scores.get(c)! })) });
    }
  }

  const grids: Partial<Record<TraceKind, TraceGrid>> = {};
  const tracingEffect: Partial<Record<TraceKind, number[]>> = {};
  const tracingEffectLastSubject: Partial<Record<TraceKind, number[]>> = {};
  for (const kind of kinds) {
    const grid = Array.from({ length: P }, () => new Array<number>(L).fill(lowScore));
    for (const [c, s] of scores) if (c.kind === kind) grid[c.t][c.layer] = s;
    grids[kind] = { window: kind === 'hidden' ? 1 : window, scores: grid };
    tracingEffect[kind] = fractionalEffect(grid, lowScore, highScore, b);
    tracingEffectLastSubject[kind] = lastSubjectEffect(grid, lowScore, highScore, e - 1);
  }
  // CONTRACTS.md promises numbers: a NaN here (an overflowing model or noise) is an error, not a result.
  assertFiniteDeep('the trace', { highScore, lowScore, grids, tracingEffect, tracingEffectLastSubject }, () => false, 'the model or the noise overflows; check the weights and --noise');
  return {
    tokens: enc.tokens,
    ids: enc.ids,
    subjectRange: [b, e],
    answer: { id: answerIds[0], token: model.tokenizer.decode(answerIds), ids: answerIds },
    highScore,
    lowScore,
    noiseLevel: sigma,
    samples: S,
    seed,
    score: scoreMode,
    grids,
    tracingEffect,
    tracingEffectLastSubject,
    cells: cells.length,
    seconds: (Date.now() - t0) / 1000,
  };
}
