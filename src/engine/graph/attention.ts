import type { GraphBuilder } from './builder';
import { linear } from '../ops/matmul';

export interface AttentionWeights {
  readonly W_Q: string;
  readonly W_K: string;
  readonly W_V: string;
  readonly W_O: string;
  readonly b_Q?: string;
  readonly b_K?: string;
  readonly b_V?: string;
  readonly b_O?: string;
}

export interface AttentionShape {
  readonly n_heads: number;
  readonly d_head: number;
}

/**
 * Rotary position embedding inputs (GPT-J's interleaved "rotate every two"), covering the whole head:
 * `cos`/`sin` are [pos, 1, d_head] with cos = 1, sin = 0 on the dims past rotary_dim, and `rotate`
 * is the [d_head, d_head] ±1 matrix with (x @ rotate)[2i] = -x[2i+1], (x @ rotate)[2i+1] = x[2i].
 * Then rope(x) = x·cos + (x @ rotate)·sin equals HF's apply_rotary_pos_emb on the first rotary_dim dims
 * and leaves the rest bit-identical (x·1 + 0).
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
): string {
  const { n_heads, d_head } = shape;
  const heads = g.int64([0, 0, n_heads, d_head]);
  const split = (v: string): string => g.node('Reshape', [v, heads]); // [batch, pos, n_heads, d_head]
  let q = split(linear(g, x, w.W_Q, w.b_Q));
  let k = split(linear(g, x, w.W_K, w.b_K));
  const v = split(linear(g, x, w.W_V, w.b_V));
  if (rotary) {
    const rope = (t: string): string =>
      g.node('Add', [
        g.node('Mul', [t, rotary.cos]),
        g.node('Mul', [g.node('MatMul', [t, rotary.rotate]), rotary.sin]),
      ]);
    q = rope(q);
    k = rope(k);
  }
  const qh = g.node('Transpose', [q], { perm: [0, 2, 1, 3] }); // [batch, n_heads, pos, d_head]
  let kt: string;
  let vh = g.node('Transpose', [v], { perm: [0, 2, 1, 3] }); // [batch, n_heads, pos, d_head]
  if (cache) {
    let kh = g.node('Transpose', [k], { perm: [0, 2, 1, 3] }, cache.kOut); // [batch, n_heads, pos, d_head]
    if (cache.kOut) vh = g.alias(vh, cache.vOut!);
    if (cache.pastK && cache.pastV) {
      kh = g.node('Concat', [cache.pastK, kh], { axis: 2 }); // [batch, n_heads, past + pos, d_head]
      vh = g.node('Concat', [cache.pastV, vh], { axis: 2 });
    }
    kt = g.node('Transpose', [kh], { perm: [0, 1, 3, 2] }); // [batch, n_heads, d_head, past + pos]
  } else {
    kt = g.node('Transpose', [k], { perm: [0, 2, 3, 1] }); // [batch, n_heads, d_head, pos]
  }
  const scores = g.node('Mul', [g.node('MatMul', [qh, kt]), g.float([1 / Math.sqrt(d_head)])]); // [batch, n_heads, pos, past + pos]
  const probs = g.node('Softmax', [g.node('Add', [scores, mask])], { axis: -1 });
  const z = g.node('MatMul', [probs, vh]); // [batch, n_heads, pos, d_head]
  const merged = g.node('Reshape', [g.node('Transpose', [z], { perm: [0, 2, 1, 3] }), g.int64([0, 0, n_heads * d_head])]); // [batch, pos, d_model]
  return linear(g, merged, w.W_O, w.b_O, out);
}

/**
 * Keys and values across calls: `kOut`/`vOut` name this call's [batch, n_heads, pos, d_head] keys
 * (after rotary) and values; `pastK`/`pastV` are earlier positions' keys and values to attend to
 * (the mask is then [pos, past + pos]). Causal Tracing reruns only the positions a restore can change.
 */
export interface KvCache {
  readonly kOut?: string;
  readonly vOut?: string;
  readonly pastK?: string;
  readonly pastV?: string;
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
  const cos = new Float32Array(pos * d_head).fill(1);
  const sin = new Float32Array(pos * d_head);
  for (let p = 0; p < pos; p++) {
    for (let i = 0; i < rotaryDim / 2; i++) {
      const invFreq = Math.fround(1 / Math.pow(10000, (2 * i) / rotaryDim));
      const angle = Math.fround(p * invFreq);
      cos[p * d_head + 2 * i] = cos[p * d_head + 2 * i + 1] = Math.cos(angle);
      sin[p * d_head + 2 * i] = sin[p * d_head + 2 * i + 1] = Math.sin(angle);
    }
  }
  return { cos, sin };
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
