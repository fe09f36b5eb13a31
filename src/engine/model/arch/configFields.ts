/** Reading config.json fields with one-line errors: shared by every family's config mapping. */
import { LocusError } from '../../errors';

export type RawConfig = Record<string, unknown>;

/**
 * Upper bounds far above any published model but low enough that no size derived from them overflows
 * or asks for absurd memory: a larger value is a corrupt or hostile file, refused before anything is
 * built from it. The weights' real shapes are checked later too. Keys of every family share a bound.
 */
export const CONFIG_LIMITS: Readonly<Record<string, number>> = {
  n_embd: 1 << 17,
  hidden_size: 1 << 17,
  n_head: 1 << 12,
  num_attention_heads: 1 << 12,
  num_key_value_heads: 1 << 12,
  head_dim: 1 << 14,
  n_inner: 1 << 20,
  intermediate_size: 1 << 20,
  n_layer: 1 << 12,
  num_hidden_layers: 1 << 12,
  n_positions: 1 << 20,
  max_position_embeddings: 1 << 24,
  vocab_size: 1 << 24,
  rotary_dim: 1 << 17,
  sliding_window: 1 << 24,
};

export function intField(raw: RawConfig, key: string, file: string): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new LocusError('bad-config', `${file}: "${key}" must be a positive integer (got ${JSON.stringify(v)})`);
  }
  const max = CONFIG_LIMITS[key];
  if (max !== undefined && v > max) {
    throw new LocusError('bad-config', `${file}: "${key}" is ${v.toLocaleString('en-US')}, more than Locus accepts (${max.toLocaleString('en-US')}): the file is corrupt or not this model's`);
  }
  return v;
}

/** An integer field that may be absent or null (then `fallback`). */
export function optionalInt(raw: RawConfig, key: string, file: string, fallback: number): number {
  return raw[key] === null || raw[key] === undefined ? fallback : intField(raw, key, file);
}

/** A positive number strictly below `max` (absent or null: `fallback`). JSON.parse reads 1e999 as Infinity: refused too. */
export function positiveNumber(raw: RawConfig, key: string, file: string, fallback: number, max = Infinity): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || !(v < max)) {
    throw new LocusError('bad-config', `${file}: "${key}" must be a number between 0 and ${max} (got ${JSON.stringify(raw[key])})`);
  }
  return v;
}

export function layerNormEps(raw: RawConfig, key: string, file: string, fallback: number): number {
  return positiveNumber(raw, key, file, fallback, 1);
}

/** eos_token_id when it is a token id (a list keeps the default, as HF generation does with the first). */
export function eosTokenId(raw: RawConfig, file: string, d_vocab: number, fallback: number): number {
  const eos = raw['eos_token_id'];
  if (typeof eos === 'number' && !(Number.isInteger(eos) && eos >= 0 && eos < d_vocab)) {
    throw new LocusError('bad-config', `${file}: "eos_token_id" ${eos} is not a token id (0 to ${d_vocab - 1})`);
  }
  return typeof eos === 'number' ? eos : fallback;
}

export function divisible(file: string, d_model: number, dKey: string, n_heads: number, hKey: string): void {
  if (d_model % n_heads !== 0) throw new LocusError('bad-config', `${file}: ${dKey} ${d_model} is not divisible by ${hKey} ${n_heads}`);
}

/** The fields GPT-2 and GPT-J read alike (HF's GPT2Config and GPTJConfig share these names and defaults). */
export interface GptShape {
  readonly d_model: number;
  readonly n_heads: number;
  readonly d_mlp: number;
  readonly eps: number;
  readonly n_layers: number;
  readonly n_ctx: number;
  readonly d_vocab: number;
}

/** n_embd / n_head (divisible), n_inner (null → 4·n_embd), the only activation both ship (gelu_new), eps, sizes. */
export function gptShape(raw: RawConfig, file: string): GptShape {
  const d_model = intField(raw, 'n_embd', file);
  const n_heads = intField(raw, 'n_head', file);
  divisible(file, d_model, 'n_embd', n_heads, 'n_head');
  const d_mlp = optionalInt(raw, 'n_inner', file, 4 * d_model);
  const act = raw['activation_function'] ?? 'gelu_new';
  if (act !== 'gelu_new') {
    throw new LocusError('bad-config', `${file}: activation_function ${JSON.stringify(act)} is not supported (only gelu_new)`);
  }
  const eps = layerNormEps(raw, 'layer_norm_epsilon', file, 1e-5);
  return { d_model, n_heads, d_mlp, eps, n_layers: intField(raw, 'n_layer', file), n_ctx: intField(raw, 'n_positions', file), d_vocab: intField(raw, 'vocab_size', file) };
}
