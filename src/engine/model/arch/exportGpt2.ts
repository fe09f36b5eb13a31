import type { ModelConfig } from '../config';
import type { ParamName } from '../names';
import type { Tensor } from '../../tensor/tensor';
import { hfTensors } from './exportHf';
import { gpt2Adapter } from './gpt2';

/** Canonical GPT-2 parameters → HF tensors (c_attn fused again; lm_head tied to wte, not written). */
export function gpt2HfTensors(cfg: ModelConfig, p: (name: ParamName) => Tensor): Array<{ name: string; tensor: Tensor }> {
  return hfTensors(gpt2Adapter, cfg, p);
}

/** The config.json Hugging Face writes for a GPT-2 of this shape. */
export function gpt2HfConfig(cfg: ModelConfig): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    activation_function: 'gelu_new',
    n_embd: cfg.d_model,
    n_head: cfg.n_heads,
    n_layer: cfg.n_layers,
    n_positions: cfg.n_ctx,
    n_inner: null,
    vocab_size: cfg.d_vocab,
    layer_norm_epsilon: cfg.layerNormEps,
    bos_token_id: cfg.eosTokenId,
    eos_token_id: cfg.eosTokenId,
    tie_word_embeddings: true,
    scale_attn_weights: true,
    torch_dtype: 'float32',
  };
}
