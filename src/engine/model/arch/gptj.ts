/**
 * GPT-J (`model_type: gptj`, HF GPTJForCausalLM). Its projections are nn.Linear, stored [out, in]:
 * every weight in GPTJ_TRANSPOSED is transposed on load to the canonical [in, out]. Attention has no
 * biases; each block has ONE LayerNorm (ln_1) feeding attention and MLP in parallel, so there is no
 * ln2; positions are rotary (no pos_embed). lm_head is untied and has a bias (unembed.b_U).
 */
import { LocusError } from '../../errors';
import type { ModelConfig } from '../config';
import type { ParamName } from '../names';
import type { RawConfig } from './configFields';
import { eosTokenId, gptShape, optionalInt } from './configFields';
import type { ArchFeatures } from './features';
import type { ParamSpec } from './types';
import { copy, defineAdapter, transposed } from './types';

/** The HF weights (per block, plus lm_head) that are [out, in] and get transposed. */
export const GPTJ_TRANSPOSED: readonly string[] = [
  'attn.q_proj.weight', 'attn.k_proj.weight', 'attn.v_proj.weight', 'attn.out_proj.weight',
  'mlp.fc_in.weight', 'mlp.fc_out.weight', 'lm_head.weight',
];

/** HF GPTJConfig: rotary_dim null → the whole head; one LayerNorm feeding attention and MLP in parallel; lm_head untied with bias. */
export function gptjConfig(raw: RawConfig, file: string): ModelConfig {
  const { d_model, n_heads, d_mlp, eps, n_layers, n_ctx, d_vocab } = gptShape(raw, file);
  const d_head = d_model / n_heads;
  const rotaryDim = optionalInt(raw, 'rotary_dim', file, d_head);
  if (rotaryDim > d_head || rotaryDim % 2 !== 0) {
    throw new LocusError('bad-config', `${file}: rotary_dim ${rotaryDim} must be even and at most the head size ${d_head}`);
  }
  const arch: ArchFeatures = {
    norm: 'layernorm', rotary: { layout: 'interleaved', dims: rotaryDim, theta: 10000 }, qkvBias: false, oBias: false, qkNorm: false,
    mlp: 'gelu_tanh', mlpBias: true, residual: 'parallel_shared_norm', headBias: true,
  };
  return {
    modelType: 'gptj', d_model, n_heads, n_kv_heads: n_heads, d_head, d_mlp, n_layers, n_ctx, d_vocab,
    layerNormEps: eps, rotaryDim, tiedEmbeddings: raw['tie_word_embeddings'] === true, eosTokenId: eosTokenId(raw, file, d_vocab, 50256), arch,
  };
}

function params(cfg: ModelConfig): ParamSpec[] {
  const { d_model: D, d_mlp: M, d_vocab: V } = cfg;
  const out: ParamSpec[] = [copy('embed.W_E', 'transformer.wte.weight', [V, D])];
  for (let l = 0; l < cfg.n_layers; l++) {
    const h = `transformer.h.${l}`;
    const b = (s: string): ParamName => `blocks.${l}.${s}` as ParamName;
    out.push(
      copy(b('ln1.w'), `${h}.ln_1.weight`, [D]),
      copy(b('ln1.b'), `${h}.ln_1.bias`, [D]),
      transposed(b('attn.W_Q'), `${h}.attn.q_proj.weight`, [D, D]),
      transposed(b('attn.W_K'), `${h}.attn.k_proj.weight`, [D, D]),
      transposed(b('attn.W_V'), `${h}.attn.v_proj.weight`, [D, D]),
      transposed(b('attn.W_O'), `${h}.attn.out_proj.weight`, [D, D]),
      transposed(b('mlp.W_in'), `${h}.mlp.fc_in.weight`, [M, D]),
      copy(b('mlp.b_in'), `${h}.mlp.fc_in.bias`, [M]),
      transposed(b('mlp.W_out'), `${h}.mlp.fc_out.weight`, [D, M]),
      copy(b('mlp.b_out'), `${h}.mlp.fc_out.bias`, [D]),
    );
  }
  out.push(copy('ln_final.w', 'transformer.ln_f.weight', [D]), copy('ln_final.b', 'transformer.ln_f.bias', [D]));
  if (!cfg.tiedEmbeddings) out.push(transposed('unembed.W_U', 'lm_head.weight', [V, D]));
  out.push(copy('unembed.b_U', 'lm_head.bias', [V]));
  return out;
}

export const gptjAdapter = defineAdapter({
  modelType: 'gptj',
  embedName: 'transformer.wte.weight',
  configKeys: { d_model: 'n_embd', n_layers: 'n_layer', n_ctx: 'n_positions' },
  tiedUnembed: (cfg) => cfg.tiedEmbeddings,
  params,
  redundant: (cfg) => (cfg.tiedEmbeddings ? [{ hf: 'lm_head.weight', shape: [cfg.d_vocab, cfg.d_model] }] : []),
  buffers: /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/,
});
