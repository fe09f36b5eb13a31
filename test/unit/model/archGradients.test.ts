import { describe, test } from 'node:test';
import { rotateEveryTwoMatrix, rotateHalfMatrix } from '../../../src/engine/graph/attention';
import { blockFeeds } from '../../../src/engine/graph/feeds';
import { emitBlock, emitHead, INPUT } from '../../../src/engine/graph/segments';
import type { BlockInputs } from '../../../src/engine/graph/segments';
import { adapterFor } from '../../../src/engine/model/arch/index';
import { parseConfig } from '../../../src/engine/model/config';
import type { ModelConfig } from '../../../src/engine/model/config';
import type { ParamName } from '../../../src/engine/model/names';
import { checkGradients, values } from '../../helpers/gradCheck';

/**
 * The new families' blocks (RMSNorm and Gemma's (1 + w), gated SiLU / GELU MLPs, grouped-query
 * attention, rotate-half and partial rotary, Qwen3's q/k norms, NeoX's parallel residual and erf GELU)
 * and their heads, differentiated with respect to the input and every weight the block reads, against
 * float64 central differences of the same graph: what ROME's v*, MEMIT's z and FT backpropagate through.
 */
type Params = Record<string, { shape: number[]; data: Float32Array }>;

function layerParams(cfg: ModelConfig, keep: (name: string) => boolean): Params {
  const out: Params = {};
  adapterFor(cfg.modelType).params(cfg).filter((s) => keep(s.name)).forEach((s, k) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const gain = /\.(ln1|ln2|q_norm|k_norm)\.w$|^ln_final\.w$/.test(s.name);
    out[s.name] = { shape: [...s.shape], data: gain ? values(n, 100 + k, 0.7, 1.3) : values(n, 100 + k, -0.5, 0.5) };
  });
  return out;
}

const COMMON = { hidden_size: 8, num_hidden_layers: 1, vocab_size: 11, intermediate_size: 12, max_position_embeddings: 64 };
const CASES: Array<[string, Record<string, unknown>]> = [
  ['Llama (GQA 4→2, llama3 rope scaling, attention and MLP biases)', {
    ...COMMON, model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 2, attention_bias: true, mlp_bias: true, rope_theta: 500000,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  }],
  ['Qwen3 (q/k norms, head_dim 4 ≠ 8/4 … one kv head)', { ...COMMON, model_type: 'qwen3', num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4 }],
  ['Qwen2 (q/k/v biases, tied)', { ...COMMON, model_type: 'qwen2', num_attention_heads: 2, num_key_value_heads: 2, tie_word_embeddings: true }],
  ['Gemma (RMSNorm × (1 + w), GeGLU, √d scale, MQA)', { ...COMMON, model_type: 'gemma', num_attention_heads: 2, num_key_value_heads: 1, head_dim: 4 }],
  ['GPT-NeoX (partial rotary, parallel residual, erf GELU)', { model_type: 'gpt_neox', hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, vocab_size: 11, intermediate_size: 12, rotary_pct: 0.5 }],
];

for (const [what, raw] of CASES) {
  describe(`${what}: gradients`, () => {
    const cfg = parseConfig(raw);
    const pos = 5;
    const constants = blockFeeds(cfg, 0, pos) as never;
    const inputsOf = (g: Parameters<typeof emitBlock>[0], i: Record<string, string>): BlockInputs => {
      const rot = cfg.arch.rotary!;
      const R = rot.layout === 'interleaved' ? rotateEveryTwoMatrix(cfg.d_head, rot.dims) : rotateHalfMatrix(cfg.d_head, rot.dims);
      return { mask: i[INPUT.mask], rotary: { cos: i[INPUT.cos], sin: i[INPUT.sin], rotate: g.float(R, [cfg.d_head, cfg.d_head]) } };
    };

    test('d resid_post / d (resid_pre, every block weight) vs finite differences', () => {
      const params = layerParams(cfg, (n) => n.startsWith('blocks.0.'));
      return checkGradients({
        wrt: { x: { shape: [2, pos, cfg.d_model], data: values(2 * pos * cfg.d_model, 7, -1, 1) } },
        params,
        constants,
        sample: 24,
        build: (g, i) => emitBlock(g, cfg, 0, (n: ParamName) => params[n], { full: false }, i.x, inputsOf(g, i)),
      });
    });

    test('d logits / d (rows, final norm, unembedding) vs finite differences', () => {
      const params = layerParams(cfg, (n) => !n.startsWith('blocks.') && (n !== 'embed.W_E' || cfg.tiedEmbeddings));
      return checkGradients({
        wrt: { x: { shape: [3, cfg.d_model], data: values(3 * cfg.d_model, 9, -1, 1) } },
        params,
        sample: 24,
        build: (g, i) => emitHead(g, cfg, (n: ParamName) => params[n], i.x),
      });
    });
  });
}
