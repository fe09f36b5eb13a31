import { parseConfig } from '../src/engine/model/config';
import type { ModelConfig } from '../src/engine/model/config';
import type { ParamName } from '../src/engine/model/names';
import type { Tensor } from '../src/engine/tensor/tensor';

/** GPT-2 small's shape (124M parameters). */
export const GPT2_SMALL = { model_type: 'gpt2', n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, vocab_size: 50257 };

/** Deterministic N(0, σ²) draws (xorshift + Box–Muller): benchmark weights need only be realistic in scale. */
function gaussian(n: number, std: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const a = 2 * Math.PI * next();
    out[i] = r * Math.cos(a) * std;
    if (i + 1 < n) out[i + 1] = r * Math.sin(a) * std;
  }
  return out;
}

/** A random model of the given config's shape, as a ParamGetter over memory. */
export function randomModel(raw: Record<string, unknown> = GPT2_SMALL): { config: ModelConfig; param: (n: ParamName) => Tensor } {
  const config = parseConfig(raw, 'bench');
  const { d_model: D, d_mlp: M, d_vocab: V, n_ctx } = config;
  const cache = new Map<ParamName, Tensor>();
  let seed = 1;
  const shapeOf = (name: string): number[] => {
    if (name === 'embed.W_E') return [V, D];
    if (name === 'pos_embed.W_pos') return [n_ctx, D];
    if (name === 'unembed.W_U') return [D, V];
    if (name === 'unembed.b_U') return [V];
    if (/W_[QKVO]$/.test(name)) return [D, D];
    if (name.endsWith('W_in')) return [D, M];
    if (name.endsWith('W_out')) return [M, D];
    if (name.endsWith('b_in')) return [M];
    return [D];
  };
  const param = (name: ParamName): Tensor => {
    let t = cache.get(name);
    if (!t) {
      const shape = shapeOf(name);
      const n = shape.reduce((a, b) => a * b, 1);
      const data = /\.w$/.test(name) ? new Float32Array(n).fill(1) : /\.b(_\w+)?$/.test(name) ? gaussian(n, 0.01, seed++) : gaussian(n, 0.02, seed++);
      t = { shape, data };
      cache.set(name, t);
    }
    return t;
  };
  return { config, param };
}
