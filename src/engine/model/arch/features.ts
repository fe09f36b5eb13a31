/**
 * Architecture as data: what a model's graph is built from. Each family's adapter maps its config.json
 * to these features; the graph builders (graph/segments.ts, graph/attention.ts, graph/feeds.ts) read
 * only features, never the model_type.
 */

/** LayerNorm (GPT-2, GPT-J, NeoX); RMSNorm × w (Llama: HF LlamaRMSNorm); RMSNorm × (1 + w) (HF GemmaRMSNorm). */
export type NormKind = 'layernorm' | 'rmsnorm' | 'rmsnorm_plus1';

/**
 * The MLP: GELU-tanh (GPT-2 `gelu_new`, GPT-J), exact erf GELU (NeoX `gelu`); gated: down(act(gate x) · up x)
 * with SiLU (Llama, Mistral, Qwen) or tanh GELU (Gemma's GeGLU).
 */
export type MlpKind = 'gelu_tanh' | 'gelu_erf' | 'gated_silu' | 'gated_gelu_tanh';

/**
 * sequential: x + attn(ln1 x), then + mlp(ln2 ·) (GPT-2, Llama). parallel_shared_norm: x + attn(ln1 x) + mlp(ln1 x)
 * (GPT-J). parallel: x + attn(ln1 x) + mlp(ln2 x), both norms on the same x (NeoX use_parallel_residual).
 */
export type ResidualKind = 'sequential' | 'parallel_shared_norm' | 'parallel';

/** HF `rope_scaling` with rope_type llama3 (transformers modeling_rope_utils._compute_llama3_parameters). */
export interface Llama3Scaling {
  readonly kind: 'llama3';
  readonly factor: number;
  readonly lowFreqFactor: number;
  readonly highFreqFactor: number;
  readonly originalMaxPositions: number;
}

/** HF `rope_scaling` rope_type linear: every inv_freq divided by factor. */
export interface LinearScaling {
  readonly kind: 'linear';
  readonly factor: number;
}

export interface RotaryFeatures {
  /** interleaved: pairs (2i, 2i+1) (GPT-J's rotate_every_two); half: pairs (i, i + dims/2) (HF rotate_half: Llama, NeoX). */
  readonly layout: 'interleaved' | 'half';
  /** Leading dims of each head that rotate (GPT-J rotary_dim, NeoX head_size × rotary_pct); the rest pass through. */
  readonly dims: number;
  readonly theta: number;
  readonly scaling?: Llama3Scaling | LinearScaling;
}

export interface ArchFeatures {
  readonly norm: NormKind;
  /** learned: a pos_embed table added to the token embeddings; otherwise rotary in every attention. */
  readonly rotary?: RotaryFeatures;
  /** Biases of the q/k/v projections and of the output projection. */
  readonly qkvBias: boolean;
  readonly oBias: boolean;
  /** Qwen3: RMSNorm over head_dim on every query and key head, after the projection and before rotary. */
  readonly qkNorm: boolean;
  readonly mlp: MlpKind;
  readonly mlpBias: boolean;
  readonly residual: ResidualKind;
  /** Gemma: the token embeddings × √d_model rounded to float32 (the tied head reads the unscaled table). */
  readonly embedScale?: number;
  /** lm_head has a bias (GPT-J). Tied or not is ModelConfig.tiedEmbeddings. */
  readonly headBias: boolean;
  /** Mistral: attention sees at most this many earlier tokens; longer prompts are refused, not mis-computed. */
  readonly slidingWindow?: number;
}

export const isGated = (mlp: MlpKind): boolean => mlp === 'gated_silu' || mlp === 'gated_gelu_tanh';
