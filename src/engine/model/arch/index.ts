import { LocusError } from '../../errors';
import { SUPPORTED_MODEL_TYPES } from '../config';
import { FAMILIES } from './families';
import type { ArchAdapter } from './types';

/** The adapter for a HF `model_type` (as read from config.json, never guessed from tensor names). */
export function adapterFor(modelType: string): ArchAdapter {
  if (!Object.hasOwn(FAMILIES, modelType)) {
    throw new LocusError('unsupported-architecture', `model_type ${JSON.stringify(modelType)} is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }
  return FAMILIES[modelType as keyof typeof FAMILIES].adapter;
}
