/**
 * The δ objective (ROME's v*, deltaOptimizer.ts) run on each row's suffix only. δ is added at one token
 * per row, its lookup token; attention is causal, so every position before it is the same at every step
 * of the optimisation (kmeng01/rome compute_v re-runs them all 200 times). Those positions enter the
 * graph once, as keys and values per block (the Causal Trace's suffix runs, graph/segments.ts), and each
 * step runs only lookup … end of each row: on the embedded model ~4 of ~20 positions. The loss and its
 * gradient are the same function of δ; only float rounding differs (test/model/suffixObjective.test.ts).
 */
import { OBJECTIVE_INPUT } from '../autodiff/objective';
import { PAST_REPEAT, pastInput } from '../graph/segments';
import type { ModelConfig } from '../model/config';
import type { Feed } from '../runtime/ort';
import type { Tensor } from '../tensor/tensor';
import type { SuffixLayout } from './deltaOptimizer';

/** Additive mask value of a hidden key (graph/attention.ts causalMask). */
const HIDDEN = -1e9;

/**
 * Whether the suffix objective can start at `fromLayer` on this model: blocks to run, learned positions
 * (a row's positions keep their own rotary angles only in the full batch) and one key/value head per
 * query head (the per-row mask broadcasts over [batch, heads, pos, keys] scores, not grouped ones).
 */
export function suffixObjectiveFits(cfg: ModelConfig, fromLayer: number, toLayer = cfg.n_layers - 1): boolean {
  return fromLayer <= toLayer && !cfg.arch.rotary && cfg.n_kv_heads === cfg.n_heads && cfg.arch.slidingWindow === undefined;
}

export interface SuffixInputs {
  readonly layout: SuffixLayout;
  /** blocks.{fromLayer}.resid_pre at each row's suffix [rows, width, d_model] (zeros past a row's end). */
  readonly resid: Tensor;
  /** δ's token in each suffix row: its first. */
  readonly lookups: readonly number[];
  /** Past keys/values of blocks fromLayer … toLayer, `past.repeat` and the per-row mask. */
  readonly feeds: Record<string, Feed>;
}

/**
 * The suffix rows of a padded batch: row i keeps positions lookups[i] … lengths[i] − 1. `resid` is
 * blocks.{fromLayer}.resid_pre of the padded batch [rows, T, d_model]; `kv` the keys and values each
 * block computed on it ([rows, n_heads, T, d_head], forward's keysValues). Undefined where a row has
 * no earlier position (nothing to cache).
 */
export function suffixInputs(cfg: ModelConfig, resid: Tensor, lengths: readonly number[], lookups: readonly number[], kv: ReadonlyMap<number, { k: Tensor; v: Tensor }>, fromLayer: number, toLayer = cfg.n_layers - 1): SuffixInputs | undefined {
  const [B, T, D] = resid.shape;
  const P = Math.max(...lookups);
  if (Math.min(...lookups) < 1) return undefined;
  const width = Math.max(...lengths.map((n, i) => n - lookups[i]));
  const x = new Float32Array(B * width * D);
  for (let i = 0; i < B; i++) {
    const n = lengths[i] - lookups[i];
    x.set(resid.data.subarray((i * T + lookups[i]) * D, (i * T + lookups[i] + n) * D), i * width * D); // [n, d_model]
  }
  const keys = P + width;
  const mask = new Float32Array(B * width * keys).fill(HIDDEN); // [rows, 1, width, past + width]
  for (let i = 0; i < B; i++) {
    for (let q = 0; q < width; q++) {
      const row = (i * width + q) * keys;
      mask.fill(0, row, row + lookups[i]); // the row's own earlier positions
      mask.fill(0, row + P, row + P + q + 1); // its suffix, causally
    }
  }
  const feeds: Record<string, Feed> = {
    [OBJECTIVE_INPUT.rowMask]: { shape: [B, 1, width, keys], data: mask },
    [PAST_REPEAT]: { shape: [4], ids: BigInt64Array.from([1n, 1n, 1n, 1n]) },
  };
  const H = cfg.n_heads;
  const dh = cfg.d_head;
  for (let l = fromLayer; l <= toLayer; l++) {
    const cache = kv.get(l);
    if (!cache) throw new Error(`suffixInputs: no keys/values of block ${l}`);
    for (const which of ['k', 'v'] as const) {
      const src = cache[which].data; // [rows, heads, T, d_head]
      const past = new Float32Array(B * H * P * dh); // [rows, heads, past, d_head], zeros where masked
      for (let i = 0; i < B; i++) {
        for (let h = 0; h < H; h++) past.set(src.subarray(((i * H + h) * T) * dh, ((i * H + h) * T + lookups[i]) * dh), ((i * H + h) * P) * dh);
      }
      feeds[pastInput(l, which)] = { shape: [B, H, P, dh], data: past };
    }
  }
  return { layout: { starts: lookups, width }, resid: { shape: [B, width, D], data: x }, lookups: lookups.map(() => 0), feeds };
}
