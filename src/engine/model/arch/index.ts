import { LocusError } from '../../errors';
import { SUPPORTED_MODEL_TYPES } from '../config';
import type { ModelType } from '../config';
import { gpt2Adapter } from './gpt2';
import { gptjAdapter } from './gptj';
import type { ArchAdapter } from './types';

const ADAPTERS: Readonly<Record<ModelType, ArchAdapter>> = { gpt2: gpt2Adapter, gptj: gptjAdapter };

/** The adapter for a HF `model_type` (as read from config.json, never guessed from tensor names). */
export function adapterFor(modelType: string): ArchAdapter {
  const adapter = (ADAPTERS as Record<string, ArchAdapter | undefined>)[modelType];
  if (!adapter || !Object.hasOwn(ADAPTERS, modelType)) {
    throw new LocusError('unsupported-architecture', `model_type ${JSON.stringify(modelType)} is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  return adapter;
}
