import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import type { Edit, ParamDelta } from '../edit/edits';
import { EditStack, frobenius } from '../edit/edits';
import { computeKs, currentZs } from '../memit/computeKs';
import { checkRequestsAndLayers, checkTemplatesAndZs, outProjectionDelta, requestZs } from '../memit/computeZ';
import type { ValueStep } from '../rome/computeValue';
import type { MemitOptions } from '../memit/index';
import type { RewriteRequest } from '../rome/index';
import type { AlphaEditHparams } from './hparams';
import type { NullSpaceProjection } from './projection';
import { nullSpaceProjectionShared } from './projection';
import { addOuterProducts, addProjectedKeys, alphaEditDelta, nullSpaceResidual } from './solve';

/**
 * What an AlphaEdit sequence carries from batch to batch (the reference's `P` and `cache_c`, both
 * [len(layers), d_mlp, d_mlp] in experiments/evaluate.py's main loop): P per layer, computed once on the
 * unedited model and never recomputed; cache_c per layer, Σ K′K′ᵀ of all earlier batches' keys.
 */
export interface AlphaEditState {
  readonly layers: readonly number[];
  readonly threshold: number;
  readonly projections: ReadonlyMap<number, NullSpaceProjection>;
  /** Absent for a layer until a batch has been edited (the reference's zeros). */
  readonly cacheC: ReadonlyMap<number, Float64Array>;
  /** P cache_c P per layer, updated with each batch's projected keys (what the solve reads; solve.ts). */
  readonly projectedCache: ReadonlyMap<number, Float64Array>;
  /** Number of batches folded into cacheC. */
  readonly batches: number;
}

/**
 * MEMIT's options (templates, z cache, progress, objective) with AlphaEdit's hparams; C (`secondMoment`, on the
 * UNEDITED model) is read only when the state is created (the first batch). MEMIT's `layerUpdate` does not
 * apply: AlphaEdit's projected solve is its own.
 */
export type AlphaEditOptions = Omit<MemitOptions, 'hparams' | 'layerUpdate' | 'method'> & { readonly hparams: AlphaEditHparams };

export interface AlphaEditLayerDetails {
  readonly layer: number;
  /** K: one key per request, after the earlier layers' updates of this batch. */
  readonly keys: Float64Array[];
  /** blocks.{z_layer}.resid_post at each request's prompt before this layer's update. */
  readonly curZs: Float64Array[];
  /** R = (z − cur_z) / (layers remaining). */
  readonly resid: Float64Array[];
  readonly deltaFrobenius: number;
  /** ‖ΔW − PΔW‖/‖ΔW‖ (≈ 0: the update lies in the null space). */
  readonly nullSpaceResidual: number;
  /** K′: the keys recomputed on the model with the whole batch applied (added to cache_c). */
  readonly cacheKeys: Float64Array[];
}

export interface AlphaEditResult {
  readonly edit: Edit;
  readonly zs: Float64Array[];
  readonly zSteps: ValueStep[][];
  readonly layers: AlphaEditLayerDetails[];
  /** Layers whose null space is empty (P = 0, so ΔW = 0 there), said once per edit. */
  readonly notes: string[];
  /** The state for the next batch (this batch's K′K′ᵀ added); the state passed in is not changed. */
  readonly state: AlphaEditState;
}

/**
 * P per layer from the unedited model's second moments (experiments/evaluate.py get_project, once per
 * run). The model must carry no edit of this sequence yet: the reference computes P before its loop.
 */
export async function createAlphaEditState(layers: readonly number[], threshold: number, secondMoment: (layer: number) => Promise<Float64Array | Float32Array>): Promise<AlphaEditState> {
  const projections = new Map<number, NullSpaceProjection>();
  for (const l of layers) projections.set(l, nullSpaceProjectionShared(await secondMoment(l), l, threshold));
  // P = 0 everywhere: every update would be exactly zero (the solve's right side is P K Rᵀ).
  if ([...projections.values()].every((p) => p.rank === 0)) {
    const smallest = Math.min(...[...projections.values()].map((p) => p.singularValues[p.singularValues.length - 1]));
    throw new LocusError('bad-input', `no eigenvalue of C0 is below nullspace_threshold ${threshold} at layers ${layers.join(', ')} (smallest ${smallest.toExponential(3)}): AlphaEdit's update would be zero; raise nullspace_threshold`);
  }
  return { layers: [...layers], threshold, projections, cacheC: new Map(), projectedCache: new Map(), batches: 0 };
}

function validate(model: LoadedModel, requests: readonly RewriteRequest[], o: AlphaEditOptions, state: AlphaEditState | undefined): void {
  const h = o.hparams;
  checkRequestsAndLayers(model, requests, h, 'AlphaEdit');
  checkTemplatesAndZs(o, requests.length);
  if (state && (state.layers.join(',') !== h.layers.join(',') || state.threshold !== h.nullspace_threshold)) {
    throw new LocusError('bad-input', `this AlphaEdit sequence was started with layers ${state.layers.join(', ')} and nullspace_threshold ${state.threshold}; a batch cannot change them (got ${h.layers.join(', ')}, ${h.nullspace_threshold})`);
  }
}

/**
 * AlphaEdit (Fang et al., ICLR 2025; jianghoucheng/AlphaEdit AlphaEdit_main.py apply_AlphaEdit_to_model)
 * for one batch: z per request at the last layer (MEMIT's compute_z), then per layer i in order the
 * keys K (after the earlier layers' updates), R = (z − cur_z)/(L − i) and
 * ΔW_i = solve(P_i (K Kᵀ + cache_c_i) + L2·I, P_i K Rᵀ); after all layers, K′ at every layer on the
 * edited model and cache_c_i += K′K′ᵀ (returned as the next state). `state` undefined starts a
 * sequence (P from `secondMoment` on the model as it is: unedited). Returns the edit as data;
 * invariant: the model is exactly as before when this returns (the reference edits in place; the
 * caller applies the edit, as for MEMIT).
 */
export async function computeAlphaEdit(model: LoadedModel, requests: readonly RewriteRequest[], o: AlphaEditOptions, state?: AlphaEditState): Promise<AlphaEditResult> {
  validate(model, requests, o, state);
  const h = o.hparams;
  if (!state) {
    o.onProgress?.('null-space projection');
    state = await createAlphaEditState(h.layers, h.nullspace_threshold, o.secondMoment);
  }
  const zLayer = h.layers[h.layers.length - 1];
  const { zs, zSteps } = await requestZs(model, zLayer, requests, o);

  const temp = new EditStack(model);
  const deltas: ParamDelta[] = [];
  const partial: Omit<AlphaEditLayerDetails, 'cacheKeys'>[] = [];
  const cacheC = new Map<number, Float64Array>();
  const projectedCache = new Map<number, Float64Array>();
  const cacheKeys: Float64Array[][] = [];
  try {
    for (const [i, layer] of h.layers.entries()) {
      o.onProgress?.(`layer ${layer}: keys and update`);
      const keys = await computeKs(model, layer, requests, o.contextTemplates, h.fact_token, o.signal);
      const curZs = await currentZs(model, zLayer, requests, h.fact_token, o.signal);
      const resid = zs.map((z, r) => z.map((v, d) => (v - curZs[r][d]) / (h.layers.length - i))); // R [n × d_model]
      const P = state.projections.get(layer)!.P;
      const deltaW = alphaEditDelta(P, state.projectedCache.get(layer), keys, resid, h.L2); // [d_mlp, d_model]
      // The reference adds the float32 upd_matrix to the float32 weight.
      const delta = outProjectionDelta(model, layer, deltaW, keys[0].length, resid[0].length, 'AlphaEdit');
      deltas.push(delta);
      partial.push({ layer, keys, curZs, resid, deltaFrobenius: frobenius(delta), nullSpaceResidual: nullSpaceResidual(P, deltaW, keys[0].length) });
      await temp.apply({ method: 'alphaedit', layers: [layer], deltas: [delta] });
    }
    // cache_c += K′K′ᵀ with K′ recomputed on the model carrying the whole batch (AlphaEdit_main.py's second loop).
    for (const layer of h.layers) {
      o.onProgress?.(`layer ${layer}: keys for the cache`);
      const kPrime = await computeKs(model, layer, requests, o.contextTemplates, h.fact_token, o.signal);
      cacheKeys.push(kPrime);
      const before = state.cacheC.get(layer);
      cacheC.set(layer, addOuterProducts(before ? Float64Array.from(before) : new Float64Array(kPrime[0].length ** 2), kPrime));
      projectedCache.set(layer, addProjectedKeys(state.projections.get(layer)!.P, state.projectedCache.get(layer), kPrime));
    }
  } finally {
    await temp.revertAll();
  }
  const layers = partial.map((p, i) => ({ ...p, cacheKeys: cacheKeys[i] }));
  const notes = h.layers.filter((l) => state.projections.get(l)!.rank === 0).map((l) => `AlphaEdit layer ${l}: no eigenvalue of C0 is below nullspace_threshold ${h.nullspace_threshold}, so P = 0 and this layer is not changed`);
  const next: AlphaEditState = { ...state, cacheC, projectedCache, batches: state.batches + 1 };
  return { edit: { method: 'alphaedit', layers: [...h.layers], deltas }, zs, zSteps, layers, notes, state: next };
}

export { ALPHAEDIT_GPT2_XL, ALPHAEDIT_SPEC, mergeAlphaEditHparams } from './hparams';
export type { AlphaEditHparams } from './hparams';
export { nullSpaceProjection, nullSpaceProjectionShared } from './projection';
export type { NullSpaceProjection } from './projection';
export { addProjectedKeys, alphaEditDelta, projectCache } from './solve';
