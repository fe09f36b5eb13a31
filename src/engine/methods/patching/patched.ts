/**
 * Patched runs: a base run (the corrupted prompt when denoising, the clean one when noising) with some
 * activations replaced by the other run's. Each patched run starts at the first block its patches
 * change, from the base run's residual stream there (as the Causal Trace's restored runs,
 * causalTrace/trace.ts); runs that start at the same block share one batch.
 */
import { LocusError } from '../../errors';
import type { ForwardContext, ForwardResult } from '../../interp/forward';
import { forwardFrom } from '../../interp/forward';
import type { Intervention } from '../../interp/interventions';
import type { ActName } from '../../model/names';
import type { Tensor } from '../../tensor/tensor';

/** Replace `site` at `positions` with `values` [1, positions.length, d_model]. */
export interface SitePatch {
  readonly site: ActName;
  readonly layer: number;
  readonly positions: readonly number[];
  readonly values: Tensor;
}

/** The first block a patch changes: a block output feeds the next block; attn/mlp outputs change their own block. */
const startOf = (p: SitePatch): number => (p.site.endsWith('resid_post') ? p.layer + 1 : p.layer);

/** Rows of a [1, T, d] tensor at `positions`, as [1, n, d]. */
export function rowsAt(x: Tensor, positions: readonly number[]): Tensor {
  const d = x.shape[2];
  const out = new Float32Array(positions.length * d);
  positions.forEach((t, i) => out.set(x.data.subarray(t * d, (t + 1) * d), i * d));
  return { shape: [1, positions.length, d], data: out };
}

export interface PatchedRunOptions {
  readonly signal?: AbortSignal;
  /** Rows per batch. */
  readonly maxRows?: number;
}

/**
 * Final-position logits [d_vocab] of `base` with each patch set applied (one run per set). `base` must
 * hold blocks.0.resid_pre and every blocks.{l}.resid_post.
 */
export async function patchedLogits(ctx: ForwardContext, base: ForwardResult, sets: readonly (readonly SitePatch[])[], opts: PatchedRunOptions = {}): Promise<Float32Array[]> {
  const L = ctx.config.n_layers;
  const V = ctx.config.d_vocab;
  const residIn = (s: number): Tensor => base.acts.get(s === 0 ? 'blocks.0.resid_pre' : `blocks.${s - 1}.resid_post`)!;
  const T = residIn(0).shape[1];
  const D = ctx.config.d_model;
  const out = new Array<Float32Array>(sets.length);
  const byStart = new Map<number, number[]>();
  sets.forEach((set, i) => {
    const s = set.length === 0 ? L : Math.min(...set.map(startOf));
    byStart.set(s, [...(byStart.get(s) ?? []), i]);
  });
  const maxRows = opts.maxRows ?? 64;
  for (const [s, all] of byStart) {
    for (let c = 0; c < all.length; c += maxRows) {
      if (opts.signal?.aborted) throw new LocusError('cancelled', 'patching cancelled');
      const chunk = all.slice(c, c + maxRows);
      const R = chunk.length;
      const X = new Float32Array(R * T * D); // [R, T, d_model]
      const ivs: Intervention[] = [];
      chunk.forEach((i, r) => {
        X.set(residIn(s).data, r * T * D);
        for (const p of sets[i]) {
          if (startOf(p) === s && p.site.endsWith('resid_post')) {
            // The patched block output is this run's input: write it in directly.
            p.positions.forEach((t, k) => X.set(p.values.data.subarray(k * D, (k + 1) * D), (r * T + t) * D));
          } else {
            ivs.push({ kind: 'replace', site: p.site, rows: [r], positions: p.positions, values: p.values });
          }
        }
      });
      const run = await forwardFrom(ctx, s, { shape: [R, T, D], data: X }, chunk.map(() => T), { interventions: ivs, signal: opts.signal });
      chunk.forEach((i, r) => (out[i] = run.logits!.data.slice(r * V, (r + 1) * V)));
    }
  }
  return out;
}
