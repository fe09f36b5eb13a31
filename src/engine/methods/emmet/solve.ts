import { LocusError } from '../../errors';
import { symmetricEigen } from '../eigen';
import { choleskyFactor, choleskyFactorShared, choleskySolve, dot } from '../linalg';

export interface EmmetSolve {
  /** C⁻¹ K D⁻¹ [d_mlp × n] row-major (the reference's adj_k); ΔW = adj_k Rᵀ. */
  readonly adjK: Float64Array;
  /** ΔW [d_mlp × d_model] row-major float64 (the engine's W_out layout, the Conv1D weight's). */
  readonly deltaW: Float64Array;
  /** D = Kᵀ C⁻¹ K (+ μ I when n > 1), [n × n]. */
  readonly D: Float64Array;
  readonly Dinv: Float64Array;
  /** D was singular and its pseudo-inverse was used (the reference's torch.linalg.pinv fallback). */
  readonly pseudoInverse: boolean;
}

export interface EmmetWeights {
  /** λ: C = λ·C0 (mom2_update_weight). */
  readonly lambda: number;
  /** μ: added to D's diagonal when n > 1 (emmet_lambda). */
  readonly mu: number;
  /** ν: added to C's diagonal (update_norm_lambda). */
  readonly nu: number;
}

/**
 * EMMET's closed form at one layer (Gupta, Sajnani, Anumanchipalli 2024; unified-model-editing
 * emmet/emmet_main.py execute_emmet, in float64): the equality-constrained minimiser of ‖ΔW K0‖² under
 * ΔWᵀ k_i = r_i, ΔW = C⁻¹ K D⁻¹ Rᵀ with C = λ·C0 (+ ν I), D = Kᵀ C⁻¹ K (+ μ I for a batch, which relaxes
 * the equality). The reference inverts C explicitly; a Cholesky solve of the same float64 C is its
 * counterpart (golden/README.md: the edit moves linearly with C's error, not with how it is inverted).
 */
export function emmetDelta(C0: Float64Array | Float32Array, keys: readonly Float64Array[], resid: readonly Float64Array[], w: EmmetWeights): EmmetSolve {
  const n = keys.length;
  const M = keys[0].length;
  const Dm = resid[0].length;
  if (C0.length !== M * M) throw new LocusError('bad-input', `second moment has ${C0.length} entries; the layer's keys need ${M}×${M}`);
  // C⁻¹ k_i: with ν = 0, C0's factor is shared across edits (cached on the array) and λ divides the solve.
  let solveC: (k: Float64Array) => Float64Array;
  try {
    if (w.nu === 0) {
      const L = choleskyFactorShared(C0, M);
      solveC = (k) => choleskySolve(L, M, k).map((x) => x / w.lambda);
    } else {
      const C = new Float64Array(M * M);
      for (let i = 0; i < M * M; i++) C[i] = w.lambda * C0[i];
      for (let i = 0; i < M; i++) C[i * M + i] += w.nu;
      const L = choleskyFactor(C, M);
      solveC = (k) => choleskySolve(L, M, k);
    }
  } catch (e) {
    throw new LocusError('bad-input', `EMMET needs the keys' second moment C to be invertible (${(e as Error).message}); use more statistics samples or update_norm_lambda > 0`);
  }
  const P = keys.map(solveC); // n × [d_mlp]: C⁻¹ k_i
  const D = new Float64Array(n * n); // [n × n]
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) D[i * n + j] = dot(keys[i], P[j]) + (n > 1 && i === j ? w.mu : 0);
  const inv = invertOrPinv(D, n);
  const adjK = new Float64Array(M * n); // adj_k = (D⁻¹ Kᵀ C⁻¹)ᵀ: adjK[a, j] = Σ_i D⁻¹[j, i] (C⁻¹k_i)[a]
  for (let a = 0; a < M; a++) for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) adjK[a * n + j] += inv.Dinv[j * n + i] * P[i][a];
  const deltaW = new Float64Array(M * Dm); // [d_mlp, d_model]
  for (let a = 0; a < M; a++) for (let j = 0; j < n; j++) for (let d = 0; d < Dm; d++) deltaW[a * Dm + d] += adjK[a * n + j] * resid[j][d];
  return { adjK, deltaW, D, Dinv: inv.Dinv, pseudoInverse: inv.pseudo };
}

/**
 * D⁻¹ by Gauss–Jordan with partial pivoting (torch.inverse); when D is singular, its Moore–Penrose inverse
 * from the eigendecomposition (D is symmetric), singular values below n·ε·σ_max dropped as torch.linalg.pinv does.
 */
function invertOrPinv(D: Float64Array, n: number): { Dinv: Float64Array; pseudo: boolean } {
  const A = Float64Array.from(D);
  const X = new Float64Array(n * n);
  for (let i = 0; i < n; i++) X[i * n + i] = 1;
  let singular = false;
  for (let c = 0; c < n && !singular; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]) > Math.abs(A[p * n + c])) p = r;
    const pivot = A[p * n + c];
    if (!(Math.abs(pivot) > 0) || !Number.isFinite(pivot)) {
      singular = true;
      break;
    }
    for (const m of [A, X]) for (let k = 0; k < n; k++) [m[c * n + k], m[p * n + k]] = [m[p * n + k], m[c * n + k]];
    for (let k = 0; k < n; k++) {
      A[c * n + k] /= pivot;
      X[c * n + k] /= pivot;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r * n + c];
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        A[r * n + k] -= f * A[c * n + k];
        X[r * n + k] -= f * X[c * n + k];
      }
    }
  }
  if (!singular && X.every(Number.isFinite)) return { Dinv: X, pseudo: false };
  const { values, vectors } = symmetricEigen(D, n);
  const cutoff = n * Number.EPSILON * Math.max(...Array.from(values, Math.abs));
  const Dinv = new Float64Array(n * n);
  values.forEach((s, j) => {
    if (Math.abs(s) <= cutoff) return;
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) Dinv[a * n + b] += (vectors[j * n + a] * vectors[j * n + b]) / s;
  });
  return { Dinv, pseudo: true };
}
