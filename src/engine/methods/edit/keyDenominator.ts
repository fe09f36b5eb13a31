import { choleskyFactorShared, choleskySolve, dot } from '../linalg';

/**
 * ROME's update denominator ("division factor", r-ROME §3; research/editors.md §1.2): ROME writes
 * ΔW = (v* − W k) (C⁻¹k*)ᵀ / ((C⁻¹k*)ᵀ k), where k* (the prefix-averaged key) sets the update's
 * direction and k (kmeng01/rome compute_v: the unprefixed prompt's key; r-ROME: k* again) its scale.
 * A denominator near zero makes ‖ΔW‖ explode: the "disabling edit" that collapses the model.
 *
 * Typical size: for C = E[k kᵀ] over the statistics corpus, E[kᵀC⁻¹k] = E[tr(C⁻¹ k kᵀ)] = tr(C⁻¹C) =
 * d_mlp exactly (test/model/safety.test.ts checks it on keys whose C it computes). So the denominator
 * divided by d_mlp is ≈ 1 for a key the corpus finds ordinary (0.7–1.4 measured on the embedded model's
 * CounterFact edits) and ≪ 1 for a key nearly orthogonal to C's support or a prompt key unlike k*.
 */
export interface KeyDenominator {
  /** (C⁻¹k*)ᵀ k_used. */
  readonly used: number;
  /** k*ᵀ C⁻¹ k*: what the denominator is with consistent keys (r-ROME). */
  readonly consistent: number;
}

/** The denominators by a Cholesky solve of C (C is factored once per array: linalg.ts caches the factor). */
export function keyDenominatorBySolve(C: Float64Array | Float32Array, kStar: ArrayLike<number>, kUsed: ArrayLike<number>): KeyDenominator {
  const n = kStar.length;
  const x = choleskySolve(choleskyFactorShared(C, n), n, kStar); // C⁻¹k*  [d_mlp]
  return { used: dot(x, kUsed), consistent: dot(x, kStar) };
}

/** uᵀC u for C [n × n] row-major, n = u.length (one product by C). */
function quadraticForm(C: Float64Array | Float32Array, u: ArrayLike<number>): number {
  const n = u.length;
  let uCu = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < n; j++) row += C[i * n + j] * u[j];
    uCu += u[i] * row;
  }
  return uCu;
}

/**
 * The same denominators from the update's own left vector u = C⁻¹k* / ‖C⁻¹k*‖ (ROME's compute_u), with
 * one product by C instead of a second O(d_mlp³) factorization (a ROME edit has factored C already).
 * With s = ‖C⁻¹k*‖: C u = k* / s, so uᵀC u = (u·k*)/s and s = (u·k*)/(uᵀC u); then k*ᵀC⁻¹k* = s (u·k*)
 * and (C⁻¹k*)ᵀk = s (u·k). uᵀCu is used rather than ‖Cu‖ because a float32 u's rounding error
 * enters it only at second order in C's large-eigenvalue directions.
 */
export function keyDenominatorFromLeftVector(C: Float64Array | Float32Array, u: ArrayLike<number>, kStar: ArrayLike<number>, kUsed: ArrayLike<number>): KeyDenominator {
  const uCu = quadraticForm(C, u);
  const uk = dot(u, kStar);
  const s = uk / uCu;
  return { used: s * dot(u, kUsed), consistent: s * uk };
}

/**
 * The denominator in whitened units from what an edit hands over — the update's left vector u and the key
 * k it divided by, without k* — as D = sign(u·k) (u·k)² / (uᵀC u). With d = (C⁻¹k*)ᵀk and
 * d* = k*ᵀC⁻¹k* (keyDenominatorFromLeftVector's s algebra), D = d |d| / d*: exactly d when the keys are
 * consistent (r-ROME: k = k*), and below d by the factor d/d* when the update's key strays from k*
 * (ROME's mismatch, r-ROME §3). So D / d_mlp is small for both disabling mechanisms: a small division
 * factor and a mismatched key. One product by C, no factorization.
 */
export function whitenedDenominator(C: Float64Array | Float32Array, u: ArrayLike<number>, k: ArrayLike<number>): number {
  const uCu = quadraticForm(C, u);
  const uk = dot(u, k);
  return (uk * Math.abs(uk)) / uCu;
}
