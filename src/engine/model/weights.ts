import type { ModelConfig } from './config';
import { adapterFor } from './arch/index';
import type { LoadedParams } from './arch/types';
import { numel } from '../tensor/tensor';
import { openSafetensors } from './safetensors';
import type { WeightStore } from './safetensors';

export interface LoadedWeights {
  /** Canonical parameters, read lazily from `store`. */
  readonly params: LoadedParams;
  /** Scalars over all canonical parameters (a tied embedding counted once, as HF counts). */
  readonly parameterCount: number;
  /** Unused tensors in the file (not errors): show them to the user once. */
  readonly warnings: string[];
  /** Keep open while parameters may still be read; `store.close()` when done. */
  readonly store: WeightStore;
}

/**
 * Opens `folder`'s weights and checks them against `cfg` (every tensor present, every shape as the
 * config says) before any tensor data is read. Nothing is materialized until `params.get`.
 */
export function loadWeights(folder: string, cfg: ModelConfig): LoadedWeights {
  const store = openSafetensors(folder);
  try {
    const params = adapterFor(cfg.modelType).load(cfg, store);
    const parameterCount = params.names().reduce((n, name) => n + numel(params.shape(name)), 0);
    return { params, parameterCount, warnings: [...params.warnings], store };
  } catch (e) {
    store.close();
    throw e;
  }
}
