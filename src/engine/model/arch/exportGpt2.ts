import type { ModelConfig } from '../config';
import type { ParamName } from '../names';
import type { Tensor } from '../../tensor/tensor';

/**
 * Canonical GPT-2 parameters → Hugging Face tensor names and layouts (the inverse of the gpt2 adapter):
 * Conv1D weights stay [in, out]; W_Q | W_K | W_V are concatenated column-wise into c_attn; lm_head is
 * tied to wte and therefore not written (as HF does).
 */
export function gpt2HfTensors(cfg: ModelConfig, p: (name: ParamName) => Tensor): Array<{ name: string; tensor: Tensor }> {
  const D = cfg.d_model;
  const out: Array<{ name: string; tensor: Tensor }> = [];
  const put = (name: string, tensor: Tensor): void => void out.push({ name, tensor });
  put('transformer.wte.weight', p('embed.W_E'));
  put('transformer.wpe.weight', p('pos_embed.W_pos'));
  for (let l = 0; l < cfg.n_layers; l++) {
    const b = `blocks.${l}` as const;
    const h = `transformer.h.${l}`;
    const [q, k, v] = (['W_Q', 'W_K', 'W_V'] as const).map((n) => p(`${b}.attn.${n}`).data);
    const qkv = new Float32Array(D * 3 * D); // [D, 3D]: row i = q[i, :] | k[i, :] | v[i, :]
    for (let i = 0; i < D; i++) {
      qkv.set(q.subarray(i * D, (i + 1) * D), i * 3 * D);
      qkv.set(k.subarray(i * D, (i + 1) * D), i * 3 * D + D);
      qkv.set(v.subarray(i * D, (i + 1) * D), i * 3 * D + 2 * D);
    }
    const bias = new Float32Array(3 * D);
    (['b_Q', 'b_K', 'b_V'] as const).forEach((n, j) => bias.set(p(`${b}.attn.${n}`).data, j * D));
    put(`${h}.ln_1.weight`, p(`${b}.ln1.w`));
    put(`${h}.ln_1.bias`, p(`${b}.ln1.b`));
    put(`${h}.attn.c_attn.weight`, { shape: [D, 3 * D], data: qkv });
    put(`${h}.attn.c_attn.bias`, { shape: [3 * D], data: bias });
    put(`${h}.attn.c_proj.weight`, p(`${b}.attn.W_O`));
    put(`${h}.attn.c_proj.bias`, p(`${b}.attn.b_O`));
    put(`${h}.ln_2.weight`, p(`${b}.ln2.w`));
    put(`${h}.ln_2.bias`, p(`${b}.ln2.b`));
    put(`${h}.mlp.c_fc.weight`, p(`${b}.mlp.W_in`));
    put(`${h}.mlp.c_fc.bias`, p(`${b}.mlp.b_in`));
    put(`${h}.mlp.c_proj.weight`, p(`${b}.mlp.W_out`));
    put(`${h}.mlp.c_proj.bias`, p(`${b}.mlp.b_out`));
  }
  put('transformer.ln_f.weight', p('ln_final.w'));
  put('transformer.ln_f.bias', p('ln_final.b'));
  return out;
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
