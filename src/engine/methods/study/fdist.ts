/**
 * The F distribution's upper tail, for the nested-model F-test of R's `anova(both, layer)` (seed paper
 * §6.1: the p column of Tables 3–6). P(F > f) = I_x(d2/2, d1/2) with x = d2 / (d2 + d1 f), the
 * regularized incomplete beta function by its continued fraction (Numerical Recipes §6.4, Lentz).
 */

/** ln Γ(x), x > 0 (Lanczos, g = 7, 9 terms; ~15 digits). */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    for (const num of [(m * (b - m) * x) / ((a + m2 - 1) * (a + m2)), (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))]) {
      d = 1 + num * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(F > f) for F ~ F(d1, d2); NaN for invalid arguments. */
export function fSurvival(f: number, d1: number, d2: number): number {
  if (!(d1 > 0 && d2 > 0) || Number.isNaN(f)) return NaN;
  if (f <= 0) return 1;
  if (!Number.isFinite(f)) return 0;
  return incompleteBeta(d2 / (d2 + d1 * f), d2 / 2, d1 / 2);
}

/**
 * p-value of the nested-model F-test (R's `anova(big, small)`): F = ((RSS_s − RSS_b) / (p_b − p_s)) /
 * (RSS_b / (n − p_b)), p = ranks. NaN when the big model has no residual degrees of freedom or adds none.
 */
export function nestedFTest(rssSmall: number, rankSmall: number, rssBig: number, rankBig: number, n: number): number {
  const df1 = rankBig - rankSmall;
  const df2 = n - rankBig;
  if (df1 <= 0 || df2 <= 0) return NaN;
  if (rssBig <= 0) return rssSmall > 0 ? 0 : NaN;
  return fSurvival(Math.max(0, (rssSmall - rssBig) / df1) / (rssBig / df2), df1, df2);
}
