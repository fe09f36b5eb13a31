import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import type { Edit, ParamDelta } from '../edit/edits';
import { EditStack, frobenius } from '../edit/edits';
import { choleskyFactorShared, choleskySolve, dot, norm, spdSolveColumns } from '../linalg';
import type { ValueStep } from '../rome/computeValue';
import type { RewriteRequest } from '../rome/index';
import type { TemplateGroups } from './computeKs';
import { computeKs, currentZs } from './computeKs';
import { checkRequestsAndLayers, checkTemplatesAndZs, outProjectionDelta, requestZs } from './computeZ';
import type { MemitHparams } from './hparams';

export interface MemitOptions {
  readonly hparams: MemitHparams;
  /** Nested context template groups (`[["{}"], ["<prefix>. {}", ...]]`); see asTemplateGroups for a flat list. */
  readonly contextTemplates: TemplateGroups;
  /** E[k kᵀ] of layer l's MLP keys (d_mlp × d_mlp) on the UNEDITED model (the reference loads it from its cache). */
  readonly secondMoment: (layer: number) => Promise<Float64Array | Float32Array>;
  /** Precomputed z per request at layers[-1] (the reference's cache_template of v_star); skips the optimization. */
  readonly zs?: readonly Float64Array[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (stage: string) => void;
  /** 'erasure': minimize the target's probability (Fact Erasure, seed paper §3.4). */
  readonly objective?: 'nll' | 'erasure';
  /**
   * The closed form from (C, K, R) to adj_k and ΔW = adj_k Rᵀ at one layer; default MEMIT's memitDelta with
   * mom2_update_weight. EMMET (emmet/) passes its equality-constrained solve here and reuses z, keys and the
   * layer distribution as they are.
   */
  readonly layerUpdate?: LayerUpdate;
  /** The Edit's method id (default 'memit'). */
  readonly method?: string;
}

export type LayerUpdate = (C: Float64Array | Float32Array, keys: readonly Float64Array[], resid: readonly Float64Array[], layer: number) => { adjK: Float64Array; deltaW: Float64Array };

export interface MemitLayerDetails {
  readonly layer: number;
  /** K: one key per request at this layer, computed after the earlier layers' updates. */
  readonly keys: Float64Array[];
  /** blocks.{z_layer}.resid_post at each request's prompt before this layer's update. */
  readonly curZs: Float64Array[];
  /** R: (z − cur_z) / (layers remaining), one column per request [d_model]. */
  readonly resid: Float64Array[];
  /** mean_i ‖z_i − cur_z_i‖ (the reference's "z error"). */
  readonly zError: number;
  /** (λC + K Kᵀ)⁻¹ K, [d_mlp × n] row-major float64 (the reference's `adj_k`; EMMET's own with its layerUpdate); ΔW = adjK Rᵀ. */
  readonly adjK: Float64Array;
  readonly deltaFrobenius: number;
}

export interface MemitResult {
  readonly edit: Edit;
  readonly zs: Float64Array[];
  /** Per request, the z optimization (empty when `zs` was given). */
  readonly zSteps: ValueStep[][];
  readonly layers: MemitLayerDetails[];
}

/**
 * ΔW in the engine's [in, out] = [d_mlp, d_model] layout from MEMIT's closed form (memit_main.py
 * execute_memit, in float64): adj_k = solve(λC + K Kᵀ, K), upd = resid · adj_kᵀ [d_model × d_mlp];
 * upd_matrix_match_shape transposes it onto W_out, so ΔW = adj_k · residᵀ. Minimizer of
 * λ·tr(ΔWᵀ C ΔW) + Σ_i ‖ΔWᵀ k_i − r_i‖², i.e. (λC + K Kᵀ) ΔW = K Rᵀ (normal equations).
 */
export function memitDelta(C: Float64Array | Float32Array, keys: readonly Float64Array[], resid: readonly Float64Array[], lambda: number): { adjK: Float64Array; deltaW: Float64Array } {
  const M = keys[0].length;
  const D = resid[0].length;
  if (C.length !== M * M) throw new LocusError('bad-input', `second moment has ${C.length} entries; the layer's keys need ${M}×${M}`);
  const adjK = adjustedKeys(C, keys, lambda);
  const n = keys.length;
  const deltaW = new Float64Array(M * D);
  for (let a = 0; a < M; a++) for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) deltaW[a * D + d] += adjK[a * n + i] * resid[i][d];
  return { adjK, deltaW };
}

/**
 * adj_k = (λC + K Kᵀ)⁻¹ K [d_mlp × n] by the push-through identity (A + K Kᵀ)⁻¹ K = A⁻¹K (I + Kᵀ A⁻¹ K)⁻¹
 * with A = λC: C's Cholesky factor is cached on the array (linalg.ts), so repeated edits at a layer
 * cost n solves and an n × n system instead of a new d_mlp³ factorization each (float64; the golden
 * MEMIT parity holds). When C alone is not (numerically) positive definite — too few statistics
 * samples — the result is checked against the normal equations and λC + K Kᵀ is factored instead.
 */
function adjustedKeys(C: Float64Array | Float32Array, keys: readonly Float64Array[], lambda: number): Float64Array {
  const n = keys.length;
  const M = keys[0].length;
  const applyA = (x: Float64Array): Float64Array => {
    // (λC + K Kᵀ) x
    const y = new Float64Array(M);
    const kx = keys.map((k) => dot(k, x));
    for (let a = 0; a < M; a++) {
      let s = 0;
      for (let b = 0; b < M; b++) s += C[a * M + b] * x[b];
      y[a] = lambda * s + keys.reduce((t, k, i) => t + k[a] * kx[i], 0);
    }
    return y;
  };
  let L: Float64Array | undefined;
  try {
    L = choleskyFactorShared(C, M);
  } catch {
    L = undefined;
  }
  if (L) {
    const P = keys.map((k) => choleskySolve(L, M, k).map((x) => x / lambda)); // n × [d_mlp]: A⁻¹ k_i
    const S = new Float64Array(n * n); // I + Kᵀ A⁻¹ K [n × n]
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) S[i * n + j] = (i === j ? 1 : 0) + dot(keys[i], P[j]);
    const Pt = new Float64Array(n * M); // [n × d_mlp]
    P.forEach((p, i) => Pt.set(p, i * M));
    const Y = spdSolveColumns(S, n, Pt, M); // S⁻¹ Pᵀ [n × d_mlp]; adj_k = P S⁻¹ = Yᵀ (S is symmetric)
    const residual = keys.reduce((worst, k, i) => {
      const r = applyA(Y.subarray(i * M, (i + 1) * M));
      return Math.max(worst, norm(r.map((v, a) => v - k[a])) / norm(k));
    }, 0);
    if (residual < 1e-8) {
      const adjK = new Float64Array(M * n);
      for (let a = 0; a < M; a++) for (let i = 0; i < n; i++) adjK[a * n + i] = Y[i * M + a];
      return adjK;
    }
  }
  const A = new Float64Array(M * M);
  for (let a = 0; a < M; a++) {
    for (let b = 0; b < M; b++) {
      let kk = 0;
      for (let i = 0; i < n; i++) kk += keys[i][a] * keys[i][b];
      A[a * M + b] = lambda * C[a * M + b] + kk;
    }
  }
  const K = new Float64Array(M * n);
  keys.forEach((k, i) => k.forEach((v, a) => (K[a * n + i] = v)));
  try {
    return spdSolveColumns(A, M, K, n);
  } catch (e) {
    throw new LocusError('bad-input', `MEMIT's λC + K Kᵀ is not positive definite (${(e as Error).message})`);
  }
}

function validate(model: LoadedModel, requests: readonly RewriteRequest[], o: MemitOptions): void {
  const h = o.hparams;
  checkRequestsAndLayers(model, requests, h, 'MEMIT');
  if (!(h.mom2_update_weight > 0)) throw new LocusError('bad-input', 'mom2_update_weight must be positive');
  checkTemplatesAndZs(o, requests.length);
}

/**
 * MEMIT (Meng et al. 2023; kmeng01/memit apply_memit_to_model / execute_memit) for a batch of
 * requests: z_i at the last layer of the range, then for each layer i in order the keys K (after the
 * earlier layers' updates), R = (Z − current outputs) / (len(layers) − i) and ΔW_i = (λC + K Kᵀ)⁻¹ K Rᵀ.
 * Returns the edit as data (one dense ΔW on blocks.{l}.mlp.W_out per layer, in layer order);
 * invariant: the model is exactly as before when this returns (updates are applied only while later
 * layers are computed, then reverted, as the reference restores its weights).
 */
export async function computeMemit(model: LoadedModel, requests: readonly RewriteRequest[], o: MemitOptions): Promise<MemitResult> {
  validate(model, requests, o);
  const h = o.hparams;
  const zLayer = h.layers[h.layers.length - 1];
  const { zs, zSteps } = await requestZs(model, zLayer, requests, o);
  // C is read before any update: the reference loads it from its stats cache, computed on the unedited model.
  const covs = new Map<number, Float64Array | Float32Array>();
  for (const l of h.layers) covs.set(l, await o.secondMoment(l));

  const layerUpdate: LayerUpdate = o.layerUpdate ?? ((C, keys, resid) => memitDelta(C, keys, resid, h.mom2_update_weight));
  const method = o.method ?? 'memit';
  const temp = new EditStack(model);
  const deltas: ParamDelta[] = [];
  const layers: MemitLayerDetails[] = [];
  try {
    for (const [i, layer] of h.layers.entries()) {
      o.onProgress?.(`layer ${layer}: keys and update`);
      const keys = await computeKs(model, layer, requests, o.contextTemplates, h.fact_token, o.signal);
      const curZs = await currentZs(model, zLayer, requests, h.fact_token, o.signal);
      const targets = zs.map((z, r) => z.map((v, d) => v - curZs[r][d]));
      // compute_ks returns one key per request, so the reference's repeat_interleave factor is 1.
      const resid = targets.map((t) => t.map((v) => v / (h.layers.length - i)));
      const { adjK, deltaW } = layerUpdate(covs.get(layer)!, keys, resid, layer);
      // The reference adds upd.float(): ΔW is rounded to float32 once, then added in float32.
      const delta = outProjectionDelta(model, layer, deltaW, keys[0].length, resid[0].length, 'MEMIT');
      deltas.push(delta);
      const zError = targets.reduce((s, t) => s + norm(t), 0) / targets.length;
      layers.push({ layer, keys, curZs, resid, zError, adjK, deltaFrobenius: frobenius(delta) });
      await temp.apply({ method, layers: [layer], deltas: [delta] });
    }
  } finally {
    await temp.revertAll();
  }
  return { edit: { method, layers: [...h.layers], deltas }, zs, zSteps, layers };
}

export { asTemplateGroups, fillTemplate } from './computeKs';
export type { TemplateGroups } from './computeKs';
export { MEMIT_GPT2_XL, MEMIT_GPT_J, mergeMemitHparams } from './hparams';
export type { MemitHparams } from './hparams';
