/**
 * GPT-NeoX (`model_type: gpt_neox`, HF GPTNeoXForCausalLM: Pythia). nn.Linear weights [out, in] are
 * transposed. The fused `attention.query_key_value` [3·d_model, d_model] is laid out PER HEAD:
 * view(heads, 3, head_size, d_model) (HF modeling_gpt_neox.py: `qkv.view(..., heads, 3 * head_size)`
 * then chunks of head_size), so each of W_Q | W_K | W_V takes rows (h·3 + part)·head_size of every head.
 * Rotary on the first head_size × rotary_pct dims in rotate_half layout; parallel residual with two
 * LayerNorms on the same input; exact erf GELU; untied `embed_out`. `attention.bias`,
 * `attention.masked_bias` and `rotary_emb.inv_freq` are buffers that transformers ≤ 4.3x saved: skipped.
 */
import { LocusError } from '../../errors';
import type { ModelConfig } from '../config';
import type { ParamName } from '../names';
import type { RawConfig } from './configFields';
import { divisible, eosTokenId, intField, layerNormEps, optionalInt, positiveNumber } from './configFields';
import type { ArchFeatures, MlpKind } from './features';
import { ropeScaling } from './rope';
import type { ParamSpec } from './types';
import { copy, defineAdapter, transposed } from './types';

function activation(raw: RawConfig, file: string): MlpKind {
  const act = raw['hidden_act'] ?? 'gelu';
  if (act === 'gelu') return 'gelu_erf';
  if (act === 'gelu_new' || act === 'gelu_pytorch_tanh') return 'gelu_tanh';
  throw new LocusError('bad-config', `${file}: hidden_act ${JSON.stringify(act)} is not supported (gelu, gelu_new)`);
}

/** HF GPTNeoXConfig defaults: rotary_pct 0.25, rotary_emb_base 10000, use_parallel_residual true, untied head. */
export function neoxConfig(raw: RawConfig, file: string): ModelConfig {
  const d_model = intField(raw, 'hidden_size', file);
  const n_heads = intField(raw, 'num_attention_heads', file);
  divisible(file, d_model, 'hidden_size', n_heads, 'num_attention_heads');
  const d_head = d_model / n_heads;
  const pct = positiveNumber(raw, 'rotary_pct', file, 0.25, 1 + 1e-9);
  const rotaryDim = Math.floor(d_head * pct);
  if (rotaryDim % 2 !== 0) throw new LocusError('bad-config', `${file}: head size ${d_head} × rotary_pct ${pct} = ${rotaryDim} rotary dims; must be even`);
  const d_vocab = intField(raw, 'vocab_size', file);
  const bias = raw['attention_bias'] !== false;
  const arch: ArchFeatures = {
    norm: 'layernorm',
    rotary: { layout: 'half', dims: rotaryDim, theta: positiveNumber(raw, 'rotary_emb_base', file, 10000), scaling: ropeScaling(raw, file) },
    qkvBias: bias, oBias: bias, qkNorm: false,
    mlp: activation(raw, file), mlpBias: true,
    residual: raw['use_parallel_residual'] === false ? 'sequential' : 'parallel',
    headBias: false,
  };
  return {
    modelType: 'gpt_neox', d_model, n_heads, n_kv_heads: n_heads, d_head,
    d_mlp: optionalInt(raw, 'intermediate_size', file, 4 * d_model),
    n_layers: intField(raw, 'num_hidden_layers', file),
    n_ctx: optionalInt(raw, 'max_position_embeddings', file, 2048),
    d_vocab,
    layerNormEps: layerNormEps(raw, 'layer_norm_eps', file, 1e-5),
    rotaryDim,
    tiedEmbeddings: raw['tie_word_embeddings'] === true,
    eosTokenId: eosTokenId(raw, file, d_vocab, 0),
    arch,
  };
}

function params(cfg: ModelConfig): ParamSpec[] {
  const { d_model: D, d_mlp: M, d_vocab: V, n_heads: H, d_head: hs } = cfg;
  const out: ParamSpec[] = [copy('embed.W_E', 'gpt_neox.embed_in.weight', [V, D])];
  for (let l = 0; l < cfg.n_layers; l++) {
    const h = `gpt_neox.layers.${l}`;
    const b = (s: string): ParamName => `blocks.${l}.${s}` as ParamName;
    out.push(copy(b('ln1.w'), `${h}.input_layernorm.weight`, [D]), copy(b('ln1.b'), `${h}.input_layernorm.bias`, [D]));
    (['Q', 'K', 'V'] as const).forEach((k, part) => {
      const transform = { kind: 'perHead', heads: H, parts: 3, part, size: hs } as const;
      out.push({ name: b(`attn.W_${k}`), hf: `${h}.attention.query_key_value.weight`, hfShape: [3 * D, D], shape: [D, D], transform });
      if (cfg.arch.qkvBias) out.push({ name: b(`attn.b_${k}`), hf: `${h}.attention.query_key_value.bias`, hfShape: [3 * D], shape: [D], transform });
    });
    out.push(transposed(b('attn.W_O'), `${h}.attention.dense.weight`, [D, D]));
    if (cfg.arch.oBias) out.push(copy(b('attn.b_O'), `${h}.attention.dense.bias`, [D]));
    out.push(
      copy(b('ln2.w'), `${h}.post_attention_layernorm.weight`, [D]),
      copy(b('ln2.b'), `${h}.post_attention_layernorm.bias`, [D]),
      transposed(b('mlp.W_in'), `${h}.mlp.dense_h_to_4h.weight`, [M, D]),
      copy(b('mlp.b_in'), `${h}.mlp.dense_h_to_4h.bias`, [M]),
      transposed(b('mlp.W_out'), `${h}.mlp.dense_4h_to_h.weight`, [D, M]),
      copy(b('mlp.b_out'), `${h}.mlp.dense_4h_to_h.bias`, [D]),
    );
  }
  out.push(copy('ln_final.w', 'gpt_neox.final_layer_norm.weight', [D]), copy('ln_final.b', 'gpt_neox.final_layer_norm.bias', [D]));
  if (!cfg.tiedEmbeddings) out.push(transposed('unembed.W_U', 'embed_out.weight', [V, D]));
  return out;
}

export const neoxAdapter = defineAdapter({
  modelType: 'gpt_neox',
  embedName: 'gpt_neox.embed_in.weight',
  configKeys: { d_model: 'hidden_size', n_layers: 'num_hidden_layers', n_ctx: 'max_position_embeddings' },
  tiedUnembed: (cfg) => cfg.tiedEmbeddings,
  params,
  redundant: (cfg) => (cfg.tiedEmbeddings ? [{ hf: 'embed_out.weight', shape: [cfg.d_vocab, cfg.d_model] }] : []),
  buffers: /^(gpt_neox\.)?layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/,
});
