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

/**
 * The published model a preset was tuned on, when `cfg` has its family and depth: ROME/MEMIT's hparams
 * for GPT-2 XL (48 layers) and GPT-J 6B (28 layers); `gptj-family` for any other GPT-J (FT's ε).
 */
export function presetModel(cfg: ModelConfig): 'gpt2-xl' | 'gpt-j-6b' | 'gptj-family' | undefined {
  if (cfg.modelType === 'gptj') return cfg.n_layers === 28 ? 'gpt-j-6b' : 'gptj-family';
  if (cfg.modelType === 'gpt2' && cfg.n_layers === 48) return 'gpt2-xl';
  return undefined;
}
