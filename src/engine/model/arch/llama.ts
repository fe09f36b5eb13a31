/**
 * The Llama family in HF's layout (`model.layers.{l}.self_attn.q_proj…`): `llama` (Llama 2/3.x,
 * TinyLlama, SmolLM), `mistral`, `qwen2`, `qwen3`, `gemma`. One weight table; the config mappings differ
 * in class defaults and in which biases and norms exist (shared/golden/README.md, "What HF does that a
 * port gets wrong" 4–7; transformers 4.51 configuration_{llama,mistral,qwen2,qwen3,gemma}.py).
 * Projections are nn.Linear [out, in]: every weight is transposed to [in, out].
 */
import { LocusError } from '../../errors';
import type { ModelConfig, ModelType } from '../config';
import type { ParamName } from '../names';
import type { RawConfig } from './configFields';
import { eosTokenId, intField, layerNormEps, optionalInt, positiveNumber } from './configFields';
import type { ArchFeatures, MlpKind } from './features';
import { ropeScaling } from './rope';
import type { ArchAdapter, ParamSpec } from './types';
import { copy, defineAdapter, transposed } from './types';

export type LlamaFamilyType = Extract<ModelType, 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma'>;

/** What each config class assumes when a key is absent (transformers 4.51 __init__ defaults). */
interface ClassDefaults {
  /** null: hidden_size / num_attention_heads. */
  readonly headDim: number | null;
  /** null: num_attention_heads. */
  readonly kvHeads: number | null;
  readonly tie: boolean;
  readonly maxPositions: number;
}

const DEFAULTS: Readonly<Record<LlamaFamilyType, ClassDefaults>> = {
  llama: { headDim: null, kvHeads: null, tie: false, maxPositions: 2048 },
  mistral: { headDim: null, kvHeads: 8, tie: false, maxPositions: 4096 * 32 },
  qwen2: { headDim: null, kvHeads: 32, tie: false, maxPositions: 32768 },
  qwen3: { headDim: 128, kvHeads: 32, tie: false, maxPositions: 32768 },
  gemma: { headDim: 256, kvHeads: 16, tie: true, maxPositions: 8192 },
};

function mlpKind(type: LlamaFamilyType, raw: RawConfig, file: string): MlpKind {
  if (type === 'gemma') {
    // GemmaMLP uses hidden_activation, else the tanh GELU even when hidden_act says "gelu" (transformers 4.38.2+).
    const act = raw['hidden_activation'] ?? 'gelu_pytorch_tanh';
    if (act === 'gelu_pytorch_tanh' || act === 'gelu_new') return 'gated_gelu_tanh';
    throw new LocusError('bad-config', `${file}: hidden_activation ${JSON.stringify(act)} is not supported (only gelu_pytorch_tanh)`);
  }
  const act = raw['hidden_act'] ?? 'silu';
  if (act === 'silu' || act === 'swish') return 'gated_silu';
  throw new LocusError('bad-config', `${file}: hidden_act ${JSON.stringify(act)} is not supported (only silu)`);
}

function slidingWindow(type: LlamaFamilyType, raw: RawConfig, file: string): number | undefined {
  const use = type === 'mistral' ? true : type === 'qwen2' || type === 'qwen3' ? raw['use_sliding_window'] === true : false;
  return use && raw['sliding_window'] !== null && raw['sliding_window'] !== undefined ? intField(raw, 'sliding_window', file) : undefined;
}

export function llamaFamilyConfig(type: LlamaFamilyType, raw: RawConfig, file: string): ModelConfig {
  const d = DEFAULTS[type];
  const d_model = intField(raw, 'hidden_size', file);
  const n_heads = intField(raw, 'num_attention_heads', file);
  const n_kv_heads = optionalInt(raw, 'num_key_value_heads', file, d.kvHeads ?? n_heads);
  if (n_heads % n_kv_heads !== 0) throw new LocusError('bad-config', `${file}: num_attention_heads ${n_heads} is not a multiple of num_key_value_heads ${n_kv_heads}`);
  if (d.headDim === null && (raw['head_dim'] === null || raw['head_dim'] === undefined) && d_model % n_heads !== 0) {
    throw new LocusError('bad-config', `${file}: hidden_size ${d_model} is not divisible by num_attention_heads ${n_heads}`);
  }
  const d_head = optionalInt(raw, 'head_dim', file, d.headDim ?? d_model / n_heads);
  if (d_head % 2 !== 0) throw new LocusError('bad-config', `${file}: head_dim ${d_head} must be even for rotary embeddings`);
  const d_vocab = intField(raw, 'vocab_size', file);
  const bias = raw['attention_bias'] === true;
  const arch: ArchFeatures = {
    norm: type === 'gemma' ? 'rmsnorm_plus1' : 'rmsnorm',
    rotary: { layout: 'half', dims: d_head, theta: positiveNumber(raw, 'rope_theta', file, 10000), scaling: ropeScaling(raw, file) },
    // Qwen2 always has q/k/v biases and never an o bias, with no flag; Mistral never has any (its config
    // has no attention_bias); llama, qwen3 and gemma follow attention_bias for all four projections.
    qkvBias: type === 'qwen2' || (type !== 'mistral' && bias),
    oBias: type !== 'qwen2' && type !== 'mistral' && bias,
    qkNorm: type === 'qwen3',
    mlp: mlpKind(type, raw, file),
    mlpBias: type === 'llama' && raw['mlp_bias'] === true,
    residual: 'sequential',
    embedScale: type === 'gemma' ? Math.fround(Math.sqrt(d_model)) : undefined,
    headBias: false,
    slidingWindow: slidingWindow(type, raw, file),
  };
  const tie = raw['tie_word_embeddings'];
  return {
    modelType: type, d_model, n_heads, n_kv_heads, d_head,
    d_mlp: intField(raw, 'intermediate_size', file),
    n_layers: intField(raw, 'num_hidden_layers', file),
    n_ctx: optionalInt(raw, 'max_position_embeddings', file, d.maxPositions),
    d_vocab,
    layerNormEps: layerNormEps(raw, 'rms_norm_eps', file, 1e-6),
    rotaryDim: d_head,
    tiedEmbeddings: typeof tie === 'boolean' ? tie : d.tie,
    eosTokenId: eosTokenId(raw, file, d_vocab, 0),
    arch,
  };
}

function params(cfg: ModelConfig): ParamSpec[] {
  const { d_model: D, d_mlp: M, d_vocab: V, d_head: hd } = cfg;
  const Q = cfg.n_heads * hd;
  const KV = cfg.n_kv_heads * hd;
  const a = cfg.arch;
  const out: ParamSpec[] = [copy('embed.W_E', 'model.embed_tokens.weight', [V, D])];
  for (let l = 0; l < cfg.n_layers; l++) {
    const h = `model.layers.${l}`;
    const b = (s: string): ParamName => `blocks.${l}.${s}` as ParamName;
    out.push(
      copy(b('ln1.w'), `${h}.input_layernorm.weight`, [D]),
      transposed(b('attn.W_Q'), `${h}.self_attn.q_proj.weight`, [Q, D]),
      transposed(b('attn.W_K'), `${h}.self_attn.k_proj.weight`, [KV, D]),
      transposed(b('attn.W_V'), `${h}.self_attn.v_proj.weight`, [KV, D]),
      transposed(b('attn.W_O'), `${h}.self_attn.o_proj.weight`, [D, Q]),
    );
    if (a.qkvBias) {
      out.push(
        copy(b('attn.b_Q'), `${h}.self_attn.q_proj.bias`, [Q]),
        copy(b('attn.b_K'), `${h}.self_attn.k_proj.bias`, [KV]),
        copy(b('attn.b_V'), `${h}.self_attn.v_proj.bias`, [KV]),
      );
    }
    if (a.oBias) out.push(copy(b('attn.b_O'), `${h}.self_attn.o_proj.bias`, [D]));
    if (a.qkNorm) out.push(copy(b('attn.q_norm.w'), `${h}.self_attn.q_norm.weight`, [hd]), copy(b('attn.k_norm.w'), `${h}.self_attn.k_norm.weight`, [hd]));
    out.push(
      copy(b('ln2.w'), `${h}.post_attention_layernorm.weight`, [D]),
      transposed(b('mlp.W_gate'), `${h}.mlp.gate_proj.weight`, [M, D]),
      transposed(b('mlp.W_in'), `${h}.mlp.up_proj.weight`, [M, D]),
      transposed(b('mlp.W_out'), `${h}.mlp.down_proj.weight`, [D, M]),
    );
    if (a.mlpBias) {
      out.push(copy(b('mlp.b_gate'), `${h}.mlp.gate_proj.bias`, [M]), copy(b('mlp.b_in'), `${h}.mlp.up_proj.bias`, [M]), copy(b('mlp.b_out'), `${h}.mlp.down_proj.bias`, [D]));
    }
  }
  out.push(copy('ln_final.w', 'model.norm.weight', [D]));
  if (!cfg.tiedEmbeddings) out.push(transposed('unembed.W_U', 'lm_head.weight', [V, D]));
  return out;
}

function llamaAdapter(type: LlamaFamilyType): ArchAdapter {
  return defineAdapter({
    modelType: type,
    embedName: 'model.embed_tokens.weight',
    configKeys: { d_model: 'hidden_size', n_layers: 'num_hidden_layers', n_ctx: 'max_position_embeddings' },
    tiedUnembed: (cfg) => cfg.tiedEmbeddings,
    params,
    redundant: (cfg) => (cfg.tiedEmbeddings ? [{ hf: 'lm_head.weight', shape: [cfg.d_vocab, cfg.d_model] }] : []),
    // Older checkpoints save the rotary inv_freq buffer.
    buffers: /^(model\.)?layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/,
  });
}

export const LLAMA_FAMILY_ADAPTERS: Readonly<Record<LlamaFamilyType, ArchAdapter>> = {
  llama: llamaAdapter('llama'),
  mistral: llamaAdapter('mistral'),
  qwen2: llamaAdapter('qwen2'),
  qwen3: llamaAdapter('qwen3'),
  gemma: llamaAdapter('gemma'),
};
