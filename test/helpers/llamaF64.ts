import * as fs from 'node:fs';
import * as path from 'node:path';
import { openSafetensors } from '../../src/engine/model/safetensors';

/**
 * A test-only float64 Llama forward, written from Hugging Face's modeling_llama.py (transformers 4.51)
 * in plain Float64Array maths, independent of the engine's ONNX graphs: only the engine's safetensors
 * reader loads the weights. It covers what llama-tiny-random uses (../shared/golden/README.md traps 1–4):
 * RMSNorm (x · rsqrt(mean x² + eps) · w), rotate-half rotary with Llama-3 `rope_scaling`, grouped-query
 * attention (kv head j serves query heads j·g … j·g+g−1), the gated SiLU MLP
 * (down(silu(gate x) · up x)), no biases, and a tied or untied head. Single sequences only (no padding).
 */

/** A row-major [rows × cols] float64 matrix (HF's nn.Linear weight layout: [out, in]). */
interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

interface LayerWeights {
  readonly inputNorm: Float64Array;
  readonly q: Mat;
  readonly k: Mat;
  readonly v: Mat;
  readonly o: Mat;
  readonly postNorm: Float64Array;
  readonly gate: Mat;
  readonly up: Mat;
  readonly down: Mat;
}

export interface LlamaF64Config {
  readonly hidden: number;
  readonly intermediate: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocab: number;
  readonly eps: number;
}

/** Add `delta` to the output of layers[layer].mlp at position `pos` (ROME's v* site: the MLP output there). */
export interface MlpOutAdd {
  readonly layer: number;
  readonly pos: number;
  readonly delta: Float64Array;
}

export interface LlamaF64Run {
  /** Per layer, per position: the input of mlp.down_proj, act(gate x) · up x [intermediate]. */
  readonly mlpPost: Float64Array[][];
  /** Per layer, per position: the output of layer.mlp [hidden] (after any MlpOutAdd). */
  readonly mlpOut: Float64Array[][];
  /** log-softmax of the logits at position `pos` [vocab]. */
  logProbs(pos: number): Float64Array;
}

export interface LlamaF64 {
  readonly cfg: LlamaF64Config;
  run(ids: readonly number[], add?: MlpOutAdd): LlamaF64Run;
}

function toF64(t: { data: Float32Array }): Float64Array {
  return Float64Array.from(t.data);
}

/** y = W x for W [out, in]. */
function matVec(w: Mat, x: Float64Array): Float64Array {
  const y = new Float64Array(w.rows);
  for (let r = 0; r < w.rows; r++) {
    let s = 0;
    const o = r * w.cols;
    for (let c = 0; c < w.cols; c++) s += w.data[o + c] * x[c];
    y[r] = s;
  }
  return y;
}

function rmsNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  const r = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * r * w[i]);
}

const silu = (x: number): number => x / (1 + Math.exp(-x));

/**
 * inv_freq of HF's `_compute_llama3_parameters` (modeling_rope_utils.py): wavelengths below
 * orig/high_freq_factor kept, above orig/low_freq_factor divided by factor, smoothly mixed between.
 */
function invFreq(headDim: number, theta: number, scaling: Record<string, number> | undefined): Float64Array {
  const inv = Float64Array.from({ length: headDim / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / headDim));
  if (!scaling) return inv;
  const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: orig } = scaling;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < orig / high) return f;
    if (wavelen > orig / low) return f / factor;
    const s = (orig / wavelen - low) / (high - low);
    return (1 - s) * (f / factor) + s * f;
  });
}

/** apply_rotary_pos_emb with rotate_half: dim i pairs with i + d/2. */
function rotate(x: Float64Array, at: number, d: number, pos: number, inv: Float64Array): void {
  const half = d / 2;
  for (let i = 0; i < half; i++) {
    const a = pos * inv[i];
    const c = Math.cos(a);
    const s = Math.sin(a);
    const x1 = x[at + i];
    const x2 = x[at + i + half];
    x[at + i] = x1 * c - x2 * s;
    x[at + i + half] = x2 * c + x1 * s;
  }
}

export function loadLlamaF64(folder: string): LlamaF64 {
  const raw = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  const num = (k: string): number => raw[k] as number;
  const heads = num('num_attention_heads');
  const cfg: LlamaF64Config = {
    hidden: num('hidden_size'),
    intermediate: num('intermediate_size'),
    layers: num('num_hidden_layers'),
    heads,
    kvHeads: (raw['num_key_value_heads'] as number | undefined) ?? heads,
    headDim: (raw['head_dim'] as number | undefined) ?? num('hidden_size') / heads,
    vocab: num('vocab_size'),
    eps: num('rms_norm_eps'),
  };
  const store = openSafetensors(folder);
  const vec = (n: string): Float64Array => toF64(store.read(n));
  const mat = (n: string): Mat => {
    const [rows, cols] = store.shape(n);
    return { rows, cols, data: vec(n) };
  };
  const layers: LayerWeights[] = Array.from({ length: cfg.layers }, (_, l) => {
    const p = `model.layers.${l}.`;
    return {
      inputNorm: vec(`${p}input_layernorm.weight`),
      q: mat(`${p}self_attn.q_proj.weight`),
      k: mat(`${p}self_attn.k_proj.weight`),
      v: mat(`${p}self_attn.v_proj.weight`),
      o: mat(`${p}self_attn.o_proj.weight`),
      postNorm: vec(`${p}post_attention_layernorm.weight`),
      gate: mat(`${p}mlp.gate_proj.weight`),
      up: mat(`${p}mlp.up_proj.weight`),
      down: mat(`${p}mlp.down_proj.weight`),
    };
  });
  const embed = mat('model.embed_tokens.weight');
  const head = store.has('lm_head.weight') ? mat('lm_head.weight') : embed; // tie_word_embeddings
  const finalNorm = vec('model.norm.weight');
  store.close();
  const inv = invFreq(cfg.headDim, (raw['rope_theta'] as number | undefined) ?? 10000, raw['rope_scaling'] as Record<string, number> | undefined);
  const { hidden: D, headDim: hd, kvHeads } = cfg;
  const group = heads / kvHeads;

  function attention(w: LayerWeights, xs: Float64Array[]): Float64Array[] {
    const T = xs.length;
    const q = xs.map((x) => matVec(w.q, x)); // [T][heads·hd]
    const k = xs.map((x) => matVec(w.k, x)); // [T][kvHeads·hd]
    const v = xs.map((x) => matVec(w.v, x)); // [T][kvHeads·hd]
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < heads; h++) rotate(q[t], h * hd, hd, t, inv);
      for (let h = 0; h < kvHeads; h++) rotate(k[t], h * hd, hd, t, inv);
    }
    const scale = 1 / Math.sqrt(hd);
    return xs.map((_, t) => {
      const ctx = new Float64Array(heads * hd);
      for (let h = 0; h < heads; h++) {
        const kv = Math.floor(h / group) * hd; // repeat_kv: kv head j serves query heads j·g … j·g+g−1
        const scores = Array.from({ length: t + 1 }, (_, s) => {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[t][h * hd + i] * k[s][kv + i];
          return dot * scale;
        });
        const m = Math.max(...scores);
        const e = scores.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++) for (let i = 0; i < hd; i++) ctx[h * hd + i] += (e[s] / z) * v[s][kv + i];
      }
      return matVec(w.o, ctx);
    });
  }

  function run(ids: readonly number[], add?: MlpOutAdd): LlamaF64Run {
    let xs = ids.map((id) => embed.data.slice(id * D, (id + 1) * D)); // [T][hidden]
    const mlpPost: Float64Array[][] = [];
    const mlpOut: Float64Array[][] = [];
    layers.forEach((w, l) => {
      const a = attention(
        w,
        xs.map((x) => rmsNorm(x, w.inputNorm, cfg.eps)),
      );
      xs = xs.map((x, t) => x.map((v, i) => v + a[t][i]));
      const post = xs.map((x) => {
        const n = rmsNorm(x, w.postNorm, cfg.eps);
        const g = matVec(w.gate, n);
        const u = matVec(w.up, n);
        return g.map((gv, i) => silu(gv) * u[i]);
      });
      const out = post.map((p) => matVec(w.down, p));
      if (add && add.layer === l) out[add.pos] = out[add.pos].map((v, i) => v + add.delta[i]);
      mlpPost.push(post);
      mlpOut.push(out);
      xs = xs.map((x, t) => x.map((v, i) => v + out[t][i]));
    });
    const normed = xs.map((x) => rmsNorm(x, finalNorm, cfg.eps));
    const logProbs = (pos: number): Float64Array => {
      const logits = matVec(head, normed[pos]);
      const m = Math.max(...logits);
      let z = 0;
      for (const v of logits) z += Math.exp(v - m);
      const lz = m + Math.log(z);
      return logits.map((v) => v - lz);
    };
    return { mlpPost, mlpOut, logProbs };
  }

  return { cfg, run };
}

/**
 * x = A⁻¹ b for a symmetric positive definite A [n × n] by Cholesky, in float64. Written here, not
 * imported from the engine's linalg.ts: this reference checks u = C⁻¹k*, which the engine computes with
 * its own Cholesky solve, so sharing that code would let a bug in it pass unseen.
 */
export function solveSpdF64(A: ArrayLike<number>, n: number, b: ArrayLike<number>): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`matrix is not positive definite at ${i}`);
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}
