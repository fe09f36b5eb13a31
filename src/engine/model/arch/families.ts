/**
 * Every supported HF `model_type`: its config mapping (config.json → ModelConfig with its features)
 * and its weight table. The only place a family is chosen by name.
 */
import type { ModelConfig, ModelType } from '../config';
import type { RawConfig } from './configFields';
import { gpt2HfConfig } from './exportGpt2';
import { gpt2Adapter, gpt2Config } from './gpt2';
import { gptjAdapter, gptjConfig } from './gptj';
import { LLAMA_FAMILY_ADAPTERS, llamaFamilyConfig } from './llama';
import { neoxAdapter, neoxConfig } from './neox';
import type { ArchAdapter } from './types';

export interface Family {
  readonly config: (raw: RawConfig, file: string) => ModelConfig;
  readonly adapter: ArchAdapter;
  /** The config.json HF writes for this shape, for a folder that has none (only GPT-2: the embedded model). */
  readonly hfConfig?: (cfg: ModelConfig) => Record<string, unknown>;
}

export const FAMILIES: Readonly<Record<ModelType, Family>> = {
  gpt2: { config: gpt2Config, adapter: gpt2Adapter, hfConfig: gpt2HfConfig },
  gptj: { config: gptjConfig, adapter: gptjAdapter },
  llama: { config: (raw, file) => llamaFamilyConfig('llama', raw, file), adapter: LLAMA_FAMILY_ADAPTERS.llama },
  mistral: { config: (raw, file) => llamaFamilyConfig('mistral', raw, file), adapter: LLAMA_FAMILY_ADAPTERS.mistral },
  qwen2: { config: (raw, file) => llamaFamilyConfig('qwen2', raw, file), adapter: LLAMA_FAMILY_ADAPTERS.qwen2 },
  qwen3: { config: (raw, file) => llamaFamilyConfig('qwen3', raw, file), adapter: LLAMA_FAMILY_ADAPTERS.qwen3 },
  gemma: { config: (raw, file) => llamaFamilyConfig('gemma', raw, file), adapter: LLAMA_FAMILY_ADAPTERS.gemma },
  gpt_neox: { config: neoxConfig, adapter: neoxAdapter },
};

/** A published model whose ROME/MEMIT/FT hparams files Locus uses as presets (methods/edit/presets/). */
export type PresetModel =
  | 'gpt2-xl'
  | 'gpt-j-6b'
  | 'gptj-family'
  | 'llama-2-7b'
  | 'llama-3-8b'
  | 'llama-3.2-1b'
  | 'llama-3.2-3b'
  | 'mistral-7b'
  | 'qwen2.5-7b'
  | 'gpt-neox-20b';

/**
 * The published model a preset was tuned on, when `cfg` has its family and shape: ROME/MEMIT's hparams
 * for GPT-2 XL (48 layers) and GPT-J 6B (28 layers); `gptj-family` for any other GPT-J (FT's ε);
 * EasyEdit's for Llama-2-7B / Llama-3-8B (32 layers, d_model 4096; grouped-query attention tells 3 from 2),
 * Llama-3.2-1B (16, 2048) and -3B (28, 3072), Mistral-7B (32, 4096) and Qwen2.5-7B (28, 3584; Qwen2-7B
 * has the same shape); the MEMIT authors' for GPT-NeoX-20B (44, 6144).
 */
export function presetModel(cfg: ModelConfig): PresetModel | undefined {
  const { modelType, n_layers: L, d_model: d } = cfg;
  if (modelType === 'gptj') return L === 28 ? 'gpt-j-6b' : 'gptj-family';
  if (modelType === 'gpt2' && L === 48) return 'gpt2-xl';
  if (modelType === 'llama' && L === 32 && d === 4096) return cfg.n_kv_heads < cfg.n_heads ? 'llama-3-8b' : 'llama-2-7b';
  if (modelType === 'llama' && L === 16 && d === 2048) return 'llama-3.2-1b';
  if (modelType === 'llama' && L === 28 && d === 3072) return 'llama-3.2-3b';
  if (modelType === 'mistral' && L === 32 && d === 4096) return 'mistral-7b';
  if (modelType === 'qwen2' && L === 28 && d === 3584) return 'qwen2.5-7b';
  if (modelType === 'gpt_neox' && L === 44 && d === 6144) return 'gpt-neox-20b';
  return undefined;
}
