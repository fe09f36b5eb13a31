import * as path from 'node:path';
import { LocusError } from '../errors';
import { readJsonObject } from '../files/read';
import { FAMILIES } from './arch/families';
import type { ArchFeatures } from './arch/features';
import type { RawConfig } from './arch/configFields';

export { CONFIG_LIMITS } from './arch/configFields';

/** The architectures the engine can build graphs for, by Hugging Face `model_type`. */
export const SUPPORTED_MODEL_TYPES = ['gpt2', 'gptj', 'llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gpt_neox'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

/**
 * A model's shape in TransformerLens vocabulary, read from `config.json` by its family's adapter.
 * d_head is HF's head_dim, which may differ from d_model / n_heads (Mistral, Qwen3, Gemma).
 */
export interface ModelConfig {
  readonly modelType: ModelType;
  readonly d_model: number;
  readonly n_heads: number;
  /** Key/value heads (grouped-query attention): kv head j serves query heads j·g … j·g+g−1, g = n_heads / n_kv_heads. */
  readonly n_kv_heads: number;
  readonly d_head: number;
  readonly d_mlp: number;
  readonly n_layers: number;
  /** Maximum sequence length (HF `n_positions` / `max_position_embeddings`). */
  readonly n_ctx: number;
  readonly d_vocab: number;
  /** The epsilon of every norm (LayerNorm or RMSNorm). */
  readonly layerNormEps: number;
  /** Number of leading dims of each head that get rotary embeddings; 0 with learned positions. */
  readonly rotaryDim: number;
  /** The head reuses embed.W_E (GPT-2, Llama with tie_word_embeddings, Gemma); else unembed.W_U. */
  readonly tiedEmbeddings: boolean;
  readonly eosTokenId: number;
  /** What the graph is built from (model/arch/features.ts). */
  readonly arch: ArchFeatures;
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
  return FAMILIES[modelType as ModelType].config(raw, file);
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
