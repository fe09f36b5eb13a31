import type { LoadedModel } from '../../model/model';
import { computeMemit } from '../memit/index';
import type { MemitLayerDetails, MemitOptions, MemitResult } from '../memit/index';
import type { RewriteRequest } from '../rome/index';
import type { EmmetHparams } from './hparams';
import { emmetDelta } from './solve';

export interface EmmetOptions extends Omit<MemitOptions, 'hparams' | 'layerUpdate' | 'method'> {
  readonly hparams: EmmetHparams;
}

export interface EmmetLayerDetails extends MemitLayerDetails {
  /** D = Kᵀ C⁻¹ K (+ μ I when n > 1) [n × n], its inverse, and whether the pseudo-inverse was needed. */
  readonly D: Float64Array;
  readonly Dinv: Float64Array;
  readonly pseudoInverse: boolean;
}

export interface EmmetResult extends Omit<MemitResult, 'layers'> {
  readonly layers: EmmetLayerDetails[];
}

/**
 * EMMET (Gupta, Sajnani, Anumanchipalli 2024, "A Unified Framework for Model Editing";
 * unified-model-editing emmet/emmet_main.py apply_emmet_to_model): MEMIT's z at the last layer, keys per
 * layer read after the earlier layers' updates and the residual spread over the layers (MEMIT's code path),
 * with the equality-constrained update ΔW = C⁻¹ K D⁻¹ Rᵀ per layer (emmetDelta) instead of MEMIT's
 * least-squares one. Returns the edit as data; the model is exactly as before when this returns.
 */
export async function computeEmmet(model: LoadedModel, requests: readonly RewriteRequest[], o: EmmetOptions): Promise<EmmetResult> {
  const h = o.hparams;
  const solves = new Map<number, ReturnType<typeof emmetDelta>>();
  const res = await computeMemit(model, requests, {
    ...o,
    method: 'emmet',
    layerUpdate: (C, keys, resid, layer) => {
      const s = emmetDelta(C, keys, resid, { lambda: h.mom2_update_weight, mu: h.emmet_lambda, nu: h.update_norm_lambda });
      solves.set(layer, s);
      return s;
    },
  });
  const layers = res.layers.map((l) => {
    const s = solves.get(l.layer)!;
    return { ...l, D: s.D, Dinv: s.Dinv, pseudoInverse: s.pseudoInverse };
  });
  return { ...res, layers };
}

export { emmetDelta } from './solve';
export type { EmmetSolve, EmmetWeights } from './solve';
export { EMMET_GPT2_XL, EMMET_GPT_J, mergeEmmetHparams } from './hparams';
export type { EmmetHparams } from './hparams';
