/**
 * GPT-2 (`model_type: gpt2`, HF GPT2LMHeadModel). Its Conv1D layers store weights [in, out], which is
 * already the canonical layout: NOTHING is transposed. The fused `attn.c_attn` [d_model, 3·d_model]
 * is split by columns into W_Q | W_K | W_V (HF's `split(n_embd, dim=2)` order), its bias likewise.
 * lm_head is tied to wte: HF omits lm_head.weight, the graph reuses embed.W_E, and a file that does
 * carry lm_head.weight is accepted without reading it.
 */
import type { ModelConfig } from '../config';
import type { RawConfig } from './configFields';
import { eosTokenId, gptShape } from './configFields';
import type { ArchFeatures } from './features';
import type { ParamSpec } from './types';
import { copy, defineAdapter, transposed } from './types';

export const GPT2_FEATURES: ArchFeatures = {
  norm: 'layernorm', qkvBias: true, oBias: true, qkNorm: false, mlp: 'gelu_tanh', mlpBias: true, residual: 'sequential', headBias: false,
};

/** HF GPT2Config: n_inner null → 4·n_embd; only `gelu_new` (every released GPT-2); lm_head tied unless tie_word_embeddings is false. */
export function gpt2Config(raw: RawConfig, file: string): ModelConfig {
  const { d_model, n_heads, d_mlp, eps, n_layers, n_ctx, d_vocab } = gptShape(raw, file);
  return {
    modelType: 'gpt2', d_model, n_heads, n_kv_heads: n_heads, d_head: d_model / n_heads, d_mlp, n_layers, n_ctx, d_vocab,
    layerNormEps: eps, rotaryDim: 0, tiedEmbeddings: raw['tie_word_embeddings'] !== false,
    eosTokenId: eosTokenId(raw, file, d_vocab, 50256), arch: GPT2_FEATURES,
  };
}

/** Conv1D weights are [in, out]; only an untied lm_head (nn.Linear [out, in]) is transposed. */
export const GPT2_TRANSPOSED: readonly string[] = ['lm_head.weight (only when tie_word_embeddings is false)'];

function params(cfg: ModelConfig): ParamSpec[] {
  const { d_model: D, d_mlp: M, d_vocab: V } = cfg;
  const out: ParamSpec[] = [
    copy('embed.W_E', 'transformer.wte.weight', [V, D]),
    copy('pos_embed.W_pos', 'transformer.wpe.weight', [cfg.n_ctx, D]),
  ];
  for (let l = 0; l < cfg.n_layers; l++) {
    const h = `transformer.h.${l}`;
    out.push(
      copy(`blocks.${l}.ln1.w`, `${h}.ln_1.weight`, [D]),
      copy(`blocks.${l}.ln1.b`, `${h}.ln_1.bias`, [D]),
    );
    (['Q', 'K', 'V'] as const).forEach((k, i) => {
      const cols = { start: i * D, count: D };
      out.push(
        { name: `blocks.${l}.attn.W_${k}`, hf: `${h}.attn.c_attn.weight`, hfShape: [D, 3 * D], shape: [D, D], transform: { kind: 'columns', ...cols } },
        { name: `blocks.${l}.attn.b_${k}`, hf: `${h}.attn.c_attn.bias`, hfShape: [3 * D], shape: [D], transform: { kind: 'range', ...cols } },
      );
    });
    out.push(
      copy(`blocks.${l}.attn.W_O`, `${h}.attn.c_proj.weight`, [D, D]),
      copy(`blocks.${l}.attn.b_O`, `${h}.attn.c_proj.bias`, [D]),
      copy(`blocks.${l}.ln2.w`, `${h}.ln_2.weight`, [D]),
      copy(`blocks.${l}.ln2.b`, `${h}.ln_2.bias`, [D]),
      copy(`blocks.${l}.mlp.W_in`, `${h}.mlp.c_fc.weight`, [D, M]),
      copy(`blocks.${l}.mlp.b_in`, `${h}.mlp.c_fc.bias`, [M]),
      copy(`blocks.${l}.mlp.W_out`, `${h}.mlp.c_proj.weight`, [M, D]),
      copy(`blocks.${l}.mlp.b_out`, `${h}.mlp.c_proj.bias`, [D]),
    );
  }
  out.push(copy('ln_final.w', 'transformer.ln_f.weight', [D]), copy('ln_final.b', 'transformer.ln_f.bias', [D]));
  if (!cfg.tiedEmbeddings) out.push(transposed('unembed.W_U', 'lm_head.weight', [V, D]));
  return out;
}

export const gpt2Adapter = defineAdapter({
  modelType: 'gpt2',
  embedName: 'transformer.wte.weight',
  posEmbedName: 'transformer.wpe.weight',
  configKeys: { d_model: 'n_embd', n_layers: 'n_layer', n_ctx: 'n_positions' },
  tiedUnembed: (cfg) => cfg.tiedEmbeddings,
  params,
  redundant: (cfg) => (cfg.tiedEmbeddings ? [{ hf: 'lm_head.weight', shape: [cfg.d_vocab, cfg.d_model] }] : []),
  buffers: /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/,
});
