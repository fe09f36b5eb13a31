import * as path from 'node:path';
import { LocusError } from '../errors';
import { readJsonObject } from '../files/read';

/** The architectures the engine can build graphs for, by Hugging Face `model_type`. */
export const SUPPORTED_MODEL_TYPES = ['gpt2', 'gptj'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

/**
 * A model's shape in TransformerLens vocabulary, read from `config.json`.
 * Invariant: d_model === n_heads * d_head.
 */
export interface ModelConfig {
  readonly modelType: ModelType;
  readonly d_model: number;
  readonly n_heads: number;
  readonly d_head: number;
  readonly d_mlp: number;
  readonly n_layers: number;
  /** Maximum sequence length (HF `n_positions`). */
  readonly n_ctx: number;
  readonly d_vocab: number;
  readonly layerNormEps: number;
  /** GPT-J: number of leading dims of each head that get rotary embeddings; 0 for GPT-2. */
  readonly rotaryDim: number;
  /** GPT-2 ties lm_head to wte; GPT-J has its own lm_head with bias. */
  readonly tiedEmbeddings: boolean;
  readonly eosTokenId: number;
}

type RawConfig = Record<string, unknown>;

/**
 * Upper bounds far above any GPT-2/GPT-J (or any published model) but low enough that no size
 * derived from them overflows or asks for absurd memory: a larger value is a corrupt or hostile
 * file, refused before anything is built from it. The weights' real shapes are checked later too.
 */
export const CONFIG_LIMITS: Readonly<Record<string, number>> = {
  n_embd: 1 << 17,
  n_head: 1 << 12,
  n_inner: 1 << 20,
  n_layer: 1 << 12,
  n_positions: 1 << 20,
  vocab_size: 1 << 24,
  rotary_dim: 1 << 17,
};

function intField(raw: RawConfig, key: string, file: string): number {
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

/** Parses an already-loaded config.json object; `file` is only used in messages. */
export function parseConfig(raw: RawConfig, file = 'config.json'): ModelConfig {
  const modelType = raw['model_type'];
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new LocusError(
      'unsupported-architecture',
      `${file}: model_type ${JSON.stringify(modelType)} is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`,
    );
  }
  const type = modelType as ModelType;
  const d_model = intField(raw, 'n_embd', file);
  const n_heads = intField(raw, 'n_head', file);
  if (d_model % n_heads !== 0) {
    throw new LocusError('bad-config', `${file}: n_embd ${d_model} is not divisible by n_head ${n_heads}`);
  }
  const inner = raw['n_inner'];
  const d_mlp = inner === null || inner === undefined ? 4 * d_model : intField(raw, 'n_inner', file);
  const act = raw['activation_function'] ?? 'gelu_new';
  if (act !== 'gelu_new') {
    throw new LocusError('bad-config', `${file}: activation_function ${JSON.stringify(act)} is not supported (only gelu_new)`);
  }
  const eps = raw['layer_norm_epsilon'] ?? 1e-5;
  // JSON.parse reads 1e999 as Infinity: refuse it with the other non-positive values.
  if (typeof eps !== 'number' || !(eps > 0) || !(eps < 1)) {
    throw new LocusError('bad-config', `${file}: "layer_norm_epsilon" must be a number between 0 and 1 (got ${JSON.stringify(raw['layer_norm_epsilon'])})`);
  }
  const d_head = d_model / n_heads;
  let rotaryDim = 0;
  if (type === 'gptj') {
    rotaryDim = raw['rotary_dim'] === null || raw['rotary_dim'] === undefined ? d_head : intField(raw, 'rotary_dim', file);
    if (rotaryDim > d_head || rotaryDim % 2 !== 0) {
      throw new LocusError('bad-config', `${file}: rotary_dim ${rotaryDim} must be even and at most the head size ${d_head}`);
    }
  }
  const tie = raw['tie_word_embeddings'];
  const n_layers = intField(raw, 'n_layer', file);
  const n_ctx = intField(raw, 'n_positions', file);
  const d_vocab = intField(raw, 'vocab_size', file);
  const eos = raw['eos_token_id'];
  if (typeof eos === 'number' && !(Number.isInteger(eos) && eos >= 0 && eos < d_vocab)) {
    throw new LocusError('bad-config', `${file}: "eos_token_id" ${eos} is not a token id (0 to ${d_vocab - 1})`);
  }
  return {
    modelType: type,
    d_model,
    n_heads,
    d_head,
    d_mlp,
    n_layers,
    n_ctx,
    d_vocab,
    layerNormEps: eps,
    rotaryDim,
    tiedEmbeddings: type === 'gpt2' ? tie !== false : tie === true,
    eosTokenId: typeof eos === 'number' ? eos : 50256,
  };
}

/**
 * Reads `<folder>/config.json` (a UTF-8 BOM is accepted). Absent → "has no config.json"; unreadable
 * (permissions, a link loop, a folder) → that reason, never "has no config.json".
 */
export function readConfig(folder: string): ModelConfig {
  const file = path.join(folder, 'config.json');
  let raw: RawConfig;
  try {
    raw = readJsonObject(file, 'model config');
  } catch (e) {
    if (e instanceof LocusError && e.code === 'not-found') {
      throw new LocusError('not-found', `${folder} has no config.json: is it a Hugging Face model folder?`);
    }
    throw e;
  }
  return parseConfig(raw, file);
}
