import type { GraphBuilder } from './builder';
import type { RotaryFeatures } from '../model/arch/features';
import { linear } from '../ops/matmul';
import { rmsNorm } from '../ops/norm';

export interface AttentionWeights {
  readonly W_Q: string;
  readonly W_K: string;
  readonly W_V: string;
  readonly W_O: string;
  readonly b_Q?: string;
  readonly b_K?: string;
  readonly b_V?: string;
  readonly b_O?: string;
  /** Qwen3: RMSNorm weights [d_head] applied to every query / key head before rotary. */
  readonly qNorm?: string;
  readonly kNorm?: string;
}

export interface AttentionShape {
  readonly n_heads: number;
  /** Grouped-query attention: kv head j serves query heads j·g … j·g+g−1 (HF repeat_kv); default n_heads. */
  readonly n_kv_heads?: number;
  readonly d_head: number;
  /** The epsilon of the q/k norms. */
  readonly layerNormEps?: number;
}

/**
 * Rotary position embedding inputs, covering the whole head: `cos`/`sin` are [pos, 1, d_head] with
 * cos = 1, sin = 0 on the dims past the rotary dims, and `rotate` is the [d_head, d_head] ±1 matrix of
 * the layout: GPT-J's interleaved "rotate every two", (x @ R)[2i] = -x[2i+1], (x @ R)[2i+1] = x[2i];
 * HF's rotate_half (Llama, NeoX), (x @ R)[i] = -x[i + r/2], (x @ R)[i + r/2] = x[i] for i < r/2.
 * Then rope(x) = x·cos + (x @ R)·sin equals HF's apply_rotary_pos_emb on the rotary dims and leaves
 * the rest bit-identical (x·1 + 0); x @ R is exact (one ±1 term per output).
 */
export interface Rotary {
  readonly cos: string;
  readonly sin: string;
  readonly rotate: string;
}

/**
 * Causal multi-head self-attention: x [batch, pos, d_model] → out [batch, pos, d_model] (after W_O).
 * `mask` is an additive [pos, pos] matrix (0 on and below the diagonal, -1e9 above): with right-padded
 * batches no real token ever sees a pad, so no per-row padding mask is needed.
 */
export function causalSelfAttention(
  g: GraphBuilder,
  x: string,
  w: AttentionWeights,
  shape: AttentionShape,
  mask: string,
  rotary?: Rotary,
  out?: string,
  cache?: KvCache,
  queryTail?: QueryTail,
): string {
  const { n_heads, d_head } = shape;
  const n_kv = shape.n_kv_heads ?? n_heads;
  const groups = n_heads / n_kv;
  const split = (v: string, h: number): string => g.node('Reshape', [v, g.int64([0, 0, h, d_head])]); // [batch, pos, h, d_head]
  // Queries only for the last positions (keys and values for all): a tail's rows of x, mask and rotary tables.
  const tail = (v: string, axis: number): string => (queryTail ? queryTail.slice(v, axis) : v);
  let q = split(linear(g, tail(x, 1), w.W_Q, w.b_Q), n_heads); // [batch, tail, n_heads, d_head]
  let k = split(linear(g, x, w.W_K, w.b_K), n_kv); // [batch, pos, n_kv, d_head]
  const v = split(linear(g, x, w.W_V, w.b_V), n_kv);
  // Qwen3Attention: q_norm / k_norm over head_dim on the projected heads, before rotary.
  if (w.qNorm) q = rmsNorm(g, q, w.qNorm, shape.layerNormEps ?? 1e-6);
  if (w.kNorm) k = rmsNorm(g, k, w.kNorm, shape.layerNormEps ?? 1e-6);
  if (rotary) {
    const rope = (t: string, cos: string, sin: string): string =>
      g.node('Add', [
        g.node('Mul', [t, cos]),
        g.node('Mul', [g.node('MatMul', [t, rotary.rotate]), sin]),
      ]);
    q = rope(q, tail(rotary.cos, 0), tail(rotary.sin, 0));
    k = rope(k, rotary.cos, rotary.sin);
  }
  const qh = g.node('Transpose', [q], { perm: [0, 2, 1, 3] }); // [batch, n_heads, pos, d_head]
  let kt: string;
  let vh = g.node('Transpose', [v], { perm: [0, 2, 1, 3] }); // [batch, n_kv, pos, d_head]
  if (cache) {
    let kh = g.node('Transpose', [k], { perm: [0, 2, 1, 3] }, cache.kOut); // [batch, n_kv, pos, d_head]
    if (cache.kOut) vh = g.alias(vh, cache.vOut!);
    if (cache.pastK && cache.pastV) {
      kh = g.node('Concat', [cache.pastK, kh], { axis: 2 }); // [batch, n_heads, past + pos, d_head]
      vh = g.node('Concat', [cache.pastV, vh], { axis: 2 });
    }
    kt = g.node('Transpose', [kh], { perm: [0, 1, 3, 2] }); // [batch, n_heads, d_head, past + pos]
  } else {
    kt = g.node('Transpose', [k], { perm: [0, 2, 3, 1] }); // [batch, n_kv, d_head, pos]
  }
  const scale = g.float([1 / Math.sqrt(d_head)]);
  let z: string;
  if (groups === 1) {
    const scores = g.node('Mul', [g.node('MatMul', [qh, kt]), scale]); // [batch, n_heads, pos, past + pos]
    const probs = g.node('Softmax', [g.node('Add', [scores, tail(mask, 0)])], { axis: -1 });
    z = g.node('MatMul', [probs, vh]); // [batch, n_heads, pos, d_head]
  } else {
    // Grouped queries: heads j·g … j·g+g−1 are one [g, …] block of kv head j; the matmuls broadcast the
    // kv head over the group instead of copying it (the same as HF's repeat_kv + matmul).
    const q5 = g.node('Reshape', [qh, g.int64([0, n_kv, groups, -1, d_head])]); // [batch, n_kv, g, pos, d_head]
    const k5 = g.node('Unsqueeze', [kt, g.int64([2])]); // [batch, n_kv, 1, d_head, past + pos]
    const v5 = g.node('Unsqueeze', [vh, g.int64([2])]); // [batch, n_kv, 1, past + pos, d_head]
    const scores = g.node('Mul', [g.node('MatMul', [q5, k5]), scale]); // [batch, n_kv, g, pos, past + pos]
    const probs = g.node('Softmax', [g.node('Add', [scores, tail(mask, 0)])], { axis: -1 });
    z = g.node('Reshape', [g.node('MatMul', [probs, v5]), g.int64([0, n_heads, -1, d_head])]); // [batch, n_heads, pos, d_head]
  }
  const merged = g.node('Reshape', [g.node('Transpose', [z], { perm: [0, 2, 1, 3] }), g.int64([0, 0, n_heads * d_head])]); // [batch, pos, n_heads·d_head]
  return linear(g, merged, w.W_O, w.b_O, out);
}

/**
 * Keys and values across calls: `kOut`/`vOut` name this call's [batch, n_kv, pos, d_head] keys
 * (after rotary) and values; `pastK`/`pastV` are earlier positions' keys and values to attend to
 * (the mask is then [pos, past + pos]). Causal Tracing reruns only the positions a restore can change.
 */
export interface KvCache {
  readonly kOut?: string;
  readonly vOut?: string;
  readonly pastK?: string;
  readonly pastV?: string;
}

/**
 * Attention whose queries (and so whose output) cover only the last positions of the call: `slice(v,
 * axis)` cuts a tensor to them along `axis` (graph/segments.ts: a block's last-layer variant, where
 * only the scored positions' outputs are read but every position's keys and values are).
 */
export interface QueryTail {
  readonly slice: (value: string, axis: number) => string;
}

/** The additive mask for queries at positions past … past+pos−1 over keys 0 … past+pos−1: [pos, past + pos]. */
export function causalMaskWithPast(pos: number, past: number): Float32Array {
  const n = past + pos;
  const m = new Float32Array(pos * n);
  for (let i = 0; i < pos; i++) for (let j = past + i + 1; j < n; j++) m[i * n + j] = -1e9;
  return m;
}

/** The additive causal mask for `pos` positions: [pos, pos]. */
export function causalMask(pos: number): Float32Array {
  const m = new Float32Array(pos * pos);
  for (let i = 0; i < pos; i++) for (let j = i + 1; j < pos; j++) m[i * pos + j] = -1e9;
  return m;
}

/** GPT-J rotary tables for positions 0..pos-1 (HF: inv_freq = 1/10000^(2i/rotary_dim), duplicated per pair). */
export function rotaryTables(pos: number, d_head: number, rotaryDim: number): { cos: Float32Array; sin: Float32Array } {
  return rotaryTablesAt({ layout: 'interleaved', dims: rotaryDim, theta: 10000 }, d_head, 0, pos);
}

/** The [d_head, d_head] matrix R with (x @ R) = rotate_every_two(x) on the first rotaryDim dims, 0 elsewhere. */
export function rotateEveryTwoMatrix(d_head: number, rotaryDim: number): Float32Array {
  const r = new Float32Array(d_head * d_head);
  for (let i = 0; i < rotaryDim / 2; i++) {
    r[(2 * i + 1) * d_head + 2 * i] = -1;
    r[2 * i * d_head + 2 * i + 1] = 1;
  }
  return r;
}

/** HF rotate_half on the first `dims` dims as a [d_head, d_head] matrix: (x @ R)[i] = −x[i + dims/2], (x @ R)[i + dims/2] = x[i]. */
export function rotateHalfMatrix(d_head: number, dims: number): Float32Array {
  const r = new Float32Array(d_head * d_head);
  const half = dims / 2;
  for (let i = 0; i < half; i++) {
    r[(i + half) * d_head + i] = -1;
    r[i * d_head + i + half] = 1;
  }
  return r;
}

/**
 * inv_freq of a rotary scheme, float32 as HF computes it: 1/θ^(2i/dims), then rope_scaling
 * (transformers modeling_rope_utils: linear divides by factor; llama3 keeps wavelengths below
 * orig/high_freq_factor, divides those above orig/low_freq_factor by factor, and blends in between).
 */
export function inverseFrequencies(rot: RotaryFeatures): Float64Array {
  const inv = new Float64Array(rot.dims / 2);
  for (let i = 0; i < inv.length; i++) {
    let f = Math.fround(1 / Math.pow(rot.theta, (2 * i) / rot.dims));
    const s = rot.scaling;
    if (s?.kind === 'linear') f = Math.fround(f / s.factor);
    else if (s?.kind === 'llama3') {
      const wavelength = (2 * Math.PI) / f;
      const lowWavelength = s.originalMaxPositions / s.lowFreqFactor;
      const highWavelength = s.originalMaxPositions / s.highFreqFactor;
      if (wavelength > lowWavelength) f = Math.fround(f / s.factor);
      else if (wavelength >= highWavelength) {
        const smooth = (s.originalMaxPositions / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        f = Math.fround(((1 - smooth) * f) / s.factor + smooth * f);
      }
    }
    inv[i] = f;
  }
  return inv;
}

/**
 * cos/sin tables [n, 1, d_head] for positions t0 … t0+n−1 (angle = position × inv_freq in float32):
 * interleaved layout sets dims 2i and 2i+1 (GPT-J), half layout dims i and i + dims/2 (HF's
 * cat(freqs, freqs)); cos = 1, sin = 0 past the rotary dims.
 */
export function rotaryTablesAt(rot: RotaryFeatures, d_head: number, t0: number, n: number): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array(n * d_head).fill(1);
  const sin = new Float32Array(n * d_head);
  const inv = inverseFrequencies(rot);
  const half = rot.dims / 2;
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround((t0 + r) * inv[i]);
      const [a, b] = rot.layout === 'interleaved' ? [2 * i, 2 * i + 1] : [i, i + half];
      cos[r * d_head + a] = cos[r * d_head + b] = Math.cos(angle);
      sin[r * d_head + a] = sin[r * d_head + b] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
