import { LocusError } from '../../errors';
import { spdSolveColumns } from '../linalg';

/**
 * AlphaEdit's update at one layer, ΔW in the engine's [in, out] = [d_mlp, d_model] layout (GPT-2's
 * Conv1D layout, which is the reference's `upd_matrix` before upd_matrix_match_shape):
 *   ΔW = solve(P (K Kᵀ + cache_c) + α I, P K Rᵀ)      (AlphaEdit_main.py, α = hparams.L2)
 * K: this batch's keys (columns), R: the per-layer residuals, cache_c: Σ K′K′ᵀ of earlier batches.
 *
 * The reference solves that non-symmetric system by LU in float32. We solve the equivalent SPD system
 *   (P M P + α I) ΔW = P K Rᵀ,  M = K Kᵀ + cache_c,
 * by Cholesky in float64 [G: our algebra]: applying (I − P) to it gives α (I − P) ΔW = 0, so ΔW = P ΔW,
 * hence P M P ΔW = P M ΔW and ΔW solves the reference's system; P M P + α I is SPD for α > 0, so the
 * solution is the same unique one (P a symmetric projector; ours is one to float64 round-off).
 * `projectedCache` is P cache_c P, kept up to date by rank-n updates (P is fixed for a sequence, so
 * P (C + K′K′ᵀ) P = P C P + (P K′)(P K′)ᵀ): no d_mlp³ product per batch.
 */
export function alphaEditDelta(P: Float64Array, projectedCache: Float64Array | undefined, keys: readonly Float64Array[], resid: readonly Float64Array[], alpha: number): Float64Array {
  const M = keys[0].length;
  const D = resid[0].length;
  if (P.length !== M * M) throw new LocusError('bad-input', `AlphaEdit's projection is ${Math.sqrt(P.length)}² but the layer's keys have ${M} entries`);
  if (!(alpha > 0)) throw new LocusError('bad-input', `AlphaEdit's L2 must be positive (got ${alpha})`);
  const PK = keys.map((k) => matVec(P, k, M)); // n × [d_mlp]: P k_i
  const A = addOuterProducts(projectedCache ? Float64Array.from(projectedCache) : new Float64Array(M * M), PK); // P (cache_c + K Kᵀ) P [d_mlp, d_mlp]
  for (let a = 0; a < M; a++) A[a * M + a] += alpha;
  const B = new Float64Array(M * D); // P K Rᵀ [d_mlp, d_model]
  PK.forEach((pk, i) => {
    for (let a = 0; a < M; a++) for (let d = 0; d < D; d++) B[a * D + d] += pk[a] * resid[i][d];
  });
  try {
    return spdSolveColumns(A, M, B, D);
  } catch (e) {
    throw new LocusError('bad-input', `AlphaEdit's P (K Kᵀ + cache_c) P + L2·I is not positive definite (${(e as Error).message})`);
  }
}

/** Σ_i k_i k_iᵀ added into `into` (cache_c += K′K′ᵀ); returns `into`. */
export function addOuterProducts(into: Float64Array, keys: readonly Float64Array[]): Float64Array {
  const M = keys[0].length;
  for (const k of keys) {
    for (let a = 0; a < M; a++) {
      const x = k[a];
      const row = a * M;
      for (let b = 0; b < M; b++) into[row + b] += x * k[b];
    }
  }
  return into;
}

/** P cache_c P + Σ (P k′)(P k′)ᵀ: the projected cache after a batch's keys K′ are added (a new array). */
export function addProjectedKeys(P: Float64Array, projectedCache: Float64Array | undefined, keys: readonly Float64Array[]): Float64Array {
  const M = keys[0].length;
  return addOuterProducts(projectedCache ? Float64Array.from(projectedCache) : new Float64Array(M * M), keys.map((k) => matVec(P, k, M)));
}

/** ‖ΔW − P ΔW‖ / ‖ΔW‖ (the golden's `null_space_residual`): how far the update leaves the null space. */
export function nullSpaceResidual(P: Float64Array, deltaW: ArrayLike<number>, M: number): number {
  const D = deltaW.length / M;
  let num = 0;
  let den = 0;
  for (let a = 0; a < M; a++) {
    for (let d = 0; d < D; d++) {
      let s = 0;
      for (let b = 0; b < M; b++) s += P[a * M + b] * deltaW[b * D + d];
      num += (deltaW[a * D + d] - s) ** 2;
      den += deltaW[a * D + d] ** 2;
    }
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}

function matVec(A: Float64Array, x: ArrayLike<number>, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    let s = 0;
    const row = a * n;
    for (let b = 0; b < n; b++) s += A[row + b] * x[b];
    y[a] = s;
  }
  return y;
}

/** P C P for symmetric P, C [n, n] (row-major, i-k-j loops so the inner loop is contiguous): the projected cache from scratch (tests, checks). */
export function projectCache(P: Float64Array, C: Float64Array, n: number): Float64Array {
  const multiply = (X: Float64Array, Y: Float64Array): Float64Array => {
    const Z = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const x = X[i * n + k];
        if (x === 0) continue;
        const yr = k * n;
        const zr = i * n;
        for (let j = 0; j < n; j++) Z[zr + j] += x * Y[yr + j];
      }
    }
    return Z;
  };
  const S = multiply(multiply(P, C), P);
  // Symmetrize: round-off would otherwise leave S ≠ Sᵀ, and Cholesky reads only the lower triangle.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) S[i * n + j] = S[j * n + i] = (S[i * n + j] + S[j * n + i]) / 2;
  return S;
}
