/**
 * Per-head attention outputs: attn.out = Σ_h z_h W_O^h + b_O, where z_h is head h's attention-weighted
 * values and W_O^h the rows h·d_head … (h+1)·d_head − 1 of W_O (HF GPT2Attention: merge_heads then
 * c_proj). The block graph exposes only the sum, so each head's contribution z_h W_O^h is computed
 * here from the run's ln1.out and its cached keys/values (the graph's own k, v), in float64.
 */
import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import type { Tensor } from '../../tensor/tensor';

/** Refuses models whose queries this file does not reproduce (rotary, q/k norms, grouped queries). */
export function assertHeadsSupported(model: LoadedModel): void {
  const cfg = model.config;
  if (cfg.arch.rotary !== undefined || cfg.arch.qkNorm || cfg.n_kv_heads !== cfg.n_heads) {
    throw new LocusError('unsupported-architecture', `per-head patching is not yet supported for ${cfg.arch.rotary !== undefined ? 'rotary' : 'grouped-query or q/k-norm'} attention (${model.manifest.name}); it supports GPT-2-style models`);
  }
}

/**
 * contributions[h][t − from]: head h's z_h W_O^h at position t ∈ [from, T) of row 0, [d_model] each.
 * `ln1` is blocks.{l}.ln1.out [1, T, d_model]; `k`, `v` the block's keys/values [1, n_heads, T, d_head].
 */
export function headContributions(model: LoadedModel, layer: number, ln1: Tensor, k: Tensor, v: Tensor, from: number): Float32Array[][] {
  const cfg = model.config;
  const H = cfg.n_heads;
  const dh = cfg.d_head;
  const D = cfg.d_model;
  const T = ln1.shape[1];
  const WQ = model.param(`blocks.${layer}.attn.W_Q`).data; // [d_model, n_heads·d_head]
  const bQ = cfg.arch.qkvBias ? model.param(`blocks.${layer}.attn.b_Q`).data : undefined; // [n_heads·d_head]
  const WO = model.param(`blocks.${layer}.attn.W_O`).data; // [n_heads·d_head, d_model]
  const HD = H * dh;
  const out: Float32Array[][] = Array.from({ length: H }, () => []);
  const scale = 1 / Math.sqrt(dh);
  for (let t = from; t < T; t++) {
    const x = ln1.data.subarray(t * D, (t + 1) * D); // [d_model]
    const q = new Float64Array(HD); // [n_heads·d_head]
    for (let j = 0; j < HD; j++) q[j] = bQ ? bQ[j] : 0;
    for (let i = 0; i < D; i++) {
      const xi = x[i];
      const row = i * HD;
      for (let j = 0; j < HD; j++) q[j] += xi * WQ[row + j];
    }
    for (let h = 0; h < H; h++) {
      // Causal softmax over keys 0 … t of head h.
      const s = new Float64Array(t + 1);
      let max = -Infinity;
      for (let j = 0; j <= t; j++) {
        let dot = 0;
        const kj = (h * T + j) * dh;
        for (let c = 0; c < dh; c++) dot += q[h * dh + c] * k.data[kj + c];
        s[j] = dot * scale;
        if (s[j] > max) max = s[j];
      }
      let sum = 0;
      for (let j = 0; j <= t; j++) sum += (s[j] = Math.exp(s[j] - max));
      const z = new Float64Array(dh); // [d_head]
      for (let j = 0; j <= t; j++) {
        const vj = (h * T + j) * dh;
        for (let c = 0; c < dh; c++) z[c] += (s[j] / sum) * v.data[vj + c];
      }
      const contrib = new Float64Array(D); // [d_model]
      for (let c = 0; c < dh; c++) {
        const row = (h * dh + c) * D;
        for (let i = 0; i < D; i++) contrib[i] += z[c] * WO[row + i];
      }
      out[h].push(Float32Array.from(contrib));
    }
  }
  return out;
}
