/**
 * Ordinary least squares R² in float64, as R's `summary(lm(...))$r.squared` (seed paper §6.1):
 * R² = 1 − RSS/TSS with TSS centred on the mean (every model here contains the intercept, directly
 * or as the sum of the layer dummies). The fit is the orthogonal projection of y onto the columns of
 * X, computed by modified Gram–Schmidt with re-orthogonalisation; a column that is (numerically) a
 * combination of earlier ones is dropped, as R's `lm` drops aliased coefficients (NA).
 */

import { nestedFTest } from './fdist';

/** Relative norm below which a column counts as aliased. */
const ALIAS_TOL = 1e-10;

/** Fitted values of y on the columns of X (column-major: X[j] is column j, each of length n). */
export function olsFit(columns: ReadonlyArray<ArrayLike<number>>, y: ArrayLike<number>): { fitted: Float64Array; rank: number } {
  const n = y.length;
  const basis: Float64Array[] = [];
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * b[i];
    return s;
  };
  for (const col of columns) {
    if (col.length !== n) throw new Error(`column of length ${col.length}, expected ${n}`);
    const v = Float64Array.from(col);
    const norm0 = Math.sqrt(dot(v, v));
    if (norm0 === 0) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (const q of basis) {
        const c = dot(q, v);
        for (let i = 0; i < n; i++) v[i] -= c * q[i];
      }
    }
    const norm = Math.sqrt(dot(v, v));
    if (norm <= ALIAS_TOL * norm0) continue;
    for (let i = 0; i < n; i++) v[i] /= norm;
    basis.push(v);
  }
  const fitted = new Float64Array(n);
  for (const q of basis) {
    const c = dot(q, y);
    for (let i = 0; i < n; i++) fitted[i] += c * q[i];
  }
  return { fitted, rank: basis.length };
}

/** R² = 1 − RSS/TSS; NaN when y is constant (TSS = 0) or empty. */
export function rSquared(columns: ReadonlyArray<ArrayLike<number>>, y: ArrayLike<number>): number {
  return olsSummary(columns, y).r2;
}

/** R², the residual sum of squares and the rank of the fit. */
export function olsSummary(columns: ReadonlyArray<ArrayLike<number>>, y: ArrayLike<number>): { r2: number; rss: number; rank: number } {
  const n = y.length;
  if (n === 0) return { r2: NaN, rss: NaN, rank: 0 };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i];
  mean /= n;
  let tss = 0;
  for (let i = 0; i < n; i++) tss += (y[i] - mean) ** 2;
  const { fitted, rank } = olsFit(columns, y);
  let rss = 0;
  for (let i = 0; i < n; i++) rss += (y[i] - fitted[i]) ** 2;
  // Round-off can put a perfect fit a hair below 0 or above 1.
  return { r2: tss > 0 ? Math.min(1, Math.max(0, 1 - rss / tss)) : NaN, rss, rank };
}

/** One-hot columns of a categorical variable (one per level, in first-seen order; together they span the intercept). */
export function oneHot(levels: readonly number[]): Float64Array[] {
  const distinct = [...new Set(levels)];
  return distinct.map((lv) => Float64Array.from(levels, (x) => (x === lv ? 1 : 0)));
}

/**
 * The seed paper's three regressions (§6.1) of y on central edit layer and tracing effect:
 * layer ~ factor(layer); tracing ~ 1 + tracing; both ~ factor(layer) * tracing (an intercept and a
 * tracing slope per layer).
 */
export function layerTracingR2(layers: readonly number[], tracing: readonly number[], y: readonly number[]): { r2Layer: number; r2Tracing: number; r2LayerTracing: number; pValue: number } {
  const dummies = oneHot(layers);
  const slopes = dummies.map((d) => Float64Array.from(d, (v, i) => v * tracing[i]));
  const ones = new Float64Array(y.length).fill(1);
  const layer = olsSummary(dummies, y);
  const both = olsSummary([...dummies, ...slopes], y);
  return {
    r2Layer: layer.r2,
    r2Tracing: rSquared([ones, Float64Array.from(tracing)], y),
    r2LayerTracing: both.r2,
    // anova(both, layer): does the tracing effect add anything beyond the layer?
    pValue: nestedFTest(layer.rss, layer.rank, both.rss, both.rank, y.length),
  };
}
