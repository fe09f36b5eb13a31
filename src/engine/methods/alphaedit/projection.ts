import { LocusError } from '../../errors';
import { symmetricEigen } from '../eigen';

/** AlphaEdit's projection onto the null space of the preserved keys at one layer. */
export interface NullSpaceProjection {
  readonly layer: number;
  readonly threshold: number;
  /** P = Û Ûᵀ [d_mlp × d_mlp] row-major float64 (symmetric, P² = P). */
  readonly P: Float64Array;
  /** Number of kept eigenvectors = dim of the null space (trace P). */
  readonly rank: number;
  /** All singular values of C0 (= |eigenvalues| for the PSD C0), descending: torch.linalg.svd's S. */
  readonly singularValues: Float64Array;
}

/**
 * P = Û Ûᵀ over the eigenvectors of C0 = E[k kᵀ] (the unedited model's MLP keys, MEMIT's `mom2`
 * moment, not multiplied by λ) whose singular value is below `threshold`: jianghoucheng/AlphaEdit
 * experiments/evaluate.py get_project (`U, S, _ = torch.linalg.svd(cov)`, `U[:, S < threshold]`).
 * Since ΔW = P ΔW, ΔWᵀ k ≈ 0 for keys in C0's support (AlphaEdit §3, Fang et al. ICLR 2025). The
 * reference decomposes in float32; ours in float64 (golden/README.md: P moves by 4.9e-6, the threshold
 * sits in a 2.4 % gap of the spectrum on the golden model).
 */
export function nullSpaceProjection(C0: ArrayLike<number>, layer: number, threshold: number): NullSpaceProjection {
  const n = Math.round(Math.sqrt(C0.length));
  if (n * n !== C0.length) throw new LocusError('bad-input', `second moment at layer ${layer} has ${C0.length} entries, not a square matrix`);
  if (!(threshold > 0)) throw new LocusError('bad-input', `nullspace_threshold must be positive (got ${threshold})`);
  const { values, vectors } = symmetricEigen(C0, n);
  const singularValues = values.map(Math.abs).sort().reverse();
  const kept: number[] = [];
  values.forEach((v, j) => {
    if (Math.abs(v) < threshold) kept.push(j);
  });
  const P = new Float64Array(n * n); // [d_mlp, d_mlp]
  for (const j of kept) {
    const u = vectors.subarray(j * n, (j + 1) * n);
    for (let a = 0; a < n; a++) {
      const ua = u[a];
      if (ua === 0) continue;
      const row = a * n;
      for (let b = 0; b < n; b++) P[row + b] += ua * u[b];
    }
  }
  return { layer, threshold, P, rank: kept.length, singularValues };
}

/**
 * nullSpaceProjection cached on the C0 array (the statistics cache hands out the same array for the
 * same statistics, as linalg.ts's choleskyFactorShared relies on), so single edits at a layer do not
 * repeat the d_mlp³ decomposition (3 s per layer at d_mlp 640). Invariant: C0 is never mutated.
 */
const shared = new WeakMap<Float64Array | Float32Array, Map<string, NullSpaceProjection>>();
export function nullSpaceProjectionShared(C0: Float64Array | Float32Array, layer: number, threshold: number): NullSpaceProjection {
  let byKey = shared.get(C0);
  if (!byKey) shared.set(C0, (byKey = new Map()));
  const key = `${layer}:${threshold}`;
  let p = byKey.get(key);
  if (!p) byKey.set(key, (p = nullSpaceProjection(C0, layer, threshold)));
  return p;
}
