/**
 * Solves C x = b for a symmetric positive-definite C (n × n, row-major) by Cholesky in float64.
 * ROME inverts C in float32 (torch.inverse); a float64 solve of the same C differs from it by up to
 * ~1e-3 in direction on ill-conditioned C (golden/README.md), well inside the parity tolerance.
 */
export function choleskyFactor(C: Float64Array | Float32Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = C[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] * L[j * n + k];
    if (!(d > 0)) throw new Error(`covariance is not positive definite at row ${j} (pivot ${d}); use more statistics samples`);
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = C[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = s / ljj;
    }
  }
  return L;
}

/**
 * The Cholesky factor of a covariance that stays the same across edits (ROME's u = C⁻¹k*: the reference
 * caches C⁻¹ per layer, rome/compute_u.py get_inv_cov). Keyed by the array itself, so it lives as long as
 * that C does (the statistics cache hands out the same array for the same statistics). Invariant: C is
 * never mutated after it is factored (every consumer builds new arrays from it).
 */
const factors = new WeakMap<Float64Array | Float32Array, Float64Array>();
export function choleskyFactorShared(C: Float64Array | Float32Array, n: number): Float64Array {
  let L = factors.get(C);
  if (!L) {
    const store = factorStores.get(C);
    L = store?.load();
    if (!L) {
      L = choleskyFactor(C, n);
      store?.save(L);
    }
    factors.set(C, L);
  }
  return L;
}

/**
 * Where C's factor may already be kept across processes (the statistics cache: stats/factorFile.ts). A
 * factor of GPT-2 small's C (d_mlp 3072) takes ~9 s of CPU here, more than the rest of an edit.
 */
export interface FactorStore {
  /** The factor of exactly this C (as choleskyFactor returns it), or undefined. */
  load(): Float64Array | undefined;
  save(L: Float64Array): void;
}
const factorStores = new WeakMap<Float64Array | Float32Array, FactorStore>();
export function attachFactorStore(C: Float64Array | Float32Array, store: FactorStore): void {
  factorStores.set(C, store);
}

/** x = C⁻¹ b given C's Cholesky factor L (C = L Lᵀ). */
export function choleskySolve(L: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/**
 * X = A⁻¹ B for a symmetric positive-definite A (n × n) and B with `m` columns (n × m, row-major), in
 * float64 by one Cholesky factorization: MEMIT's `torch.linalg.solve(λC + K Kᵀ, K)` (kmeng01/memit
 * memit_main.py, "Compute update in double precision"). λC + K Kᵀ is SPD whenever λ > 0 and C is
 * positive definite, so Cholesky is the exact counterpart of the reference's LU solve.
 */
export function spdSolveColumns(A: Float64Array | Float32Array, n: number, B: Float64Array, m: number): Float64Array {
  const L = choleskyFactor(A, n);
  const X = new Float64Array(n * m);
  const col = new Float64Array(n);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) col[i] = B[i * m + j];
    const x = choleskySolve(L, n, col);
    for (let i = 0; i < n; i++) X[i * m + j] = x[i];
  }
  return X;
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
