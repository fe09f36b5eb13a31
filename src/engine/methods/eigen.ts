/**
 * Eigendecomposition of a real symmetric matrix in float64: Householder reduction to tridiagonal form
 * (tred2) followed by the implicit QL algorithm with Wilkinson-style shifts (tql2). The algorithm is
 * the EISPACK one (Smith et al., "Matrix Eigensystem Routines", 1976; Bowdler, Martin, Reinsch &
 * Wilkinson, Numer. Math. 11, 1968), as described in Golub & Van Loan §8.3. AlphaEdit needs it for
 * `torch.linalg.svd(C0)` (jianghoucheng/AlphaEdit experiments/evaluate.py get_project): for the
 * symmetric positive semi-definite C0 the SVD's U is the eigenvector matrix and S the |eigenvalues|.
 * Cost O(n³) (Jacobi would be several times slower at d_mlp = 6400).
 */
import { LocusError } from '../errors';

export interface SymmetricEigen {
  readonly n: number;
  /** Eigenvalues in descending order (the SVD's order for a PSD matrix). */
  readonly values: Float64Array;
  /** Row-major [n × n]: row j is the unit eigenvector of values[j]. */
  readonly vectors: Float64Array;
}

/** A (n × n, row-major, symmetric: only the values as given are read, the upper and lower halves must agree) = V diag(values) Vᵀ. */
export function symmetricEigen(A: ArrayLike<number>, n: number): SymmetricEigen {
  if (A.length !== n * n) throw new LocusError('bad-input', `eigendecomposition: ${A.length} entries for a ${n}×${n} matrix`);
  for (let i = 0; i < A.length; i++) if (!Number.isFinite(A[i])) throw new LocusError('bad-input', 'eigendecomposition: the matrix holds NaN or Inf');
  const V = Float64Array.from(A); // [n, n]: becomes the orthogonal reduction Q (A = Q T Qᵀ)
  const d = new Float64Array(n); // diagonal of T, then the eigenvalues
  const e = new Float64Array(n); // sub-diagonal of T
  tridiagonalize(V, d, e, n);
  // tql2 rotates pairs of columns of Q; transposed, those are contiguous rows (cache-friendly at large n).
  const W = transpose(V, n); // row j = column j of Q
  tridiagonalQL(W, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[b] - d[a]);
  const values = Float64Array.from(order, (i) => d[i]);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => vectors.set(W.subarray(src * n, (src + 1) * n), dst * n));
  return { n, values, vectors };
}

function transpose(X: Float64Array, n: number): Float64Array {
  const T = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) T[j * n + i] = X[i * n + j];
  return T;
}

/** tred2: V ← Q with Qᵀ A Q tridiagonal (diagonal d, sub-diagonal e[1..n-1]); V holds A on entry. */
function tridiagonalize(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    // Householder reflection that zeroes row i left of the sub-diagonal (scaled to avoid under/overflow).
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the reflections into Q.
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** tql2: diagonalizes the tridiagonal (d, e) by implicit QL sweeps, rotating W's rows (Q's columns) along. */
function tridiagonalQL(W: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  const maxIterations = 60;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > maxIterations) throw new LocusError('bad-input', `eigendecomposition did not converge (eigenvalue ${l} of ${n})`);
        // Shift from the leading 2×2 block.
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        // Implicit QL transformation, chasing the bulge from m up to l.
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const a = i * n;
          const b = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const wb = W[b + k];
            W[b + k] = s * W[a + k] + c * wb;
            W[a + k] = c * W[a + k] - s * wb;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
