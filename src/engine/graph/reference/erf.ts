/**
 * erf and erfc in double precision for the reference evaluator (JS has no Math.erf): a positive-term
 * series near 0 and a continued fraction in the tails. Measured against CPython's math.erf/erfc on
 * [-8, 8]: erf within 4 ulp, erfc within ~20 ulp relative (the tail's limit is e^{-x²} itself, whose
 * argument x² carries half an ulp of rounding).
 */

/** 2/√π·e^{-x²}·Σ 2ⁿx^{2n+1}/(2n+1)!! = erf(x): all terms positive, so no cancellation; for |x| < 2.5. */
function erfSeries(x: number): number {
  const ax = Math.abs(x);
  let term = ax;
  let sum = ax;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
  }
  const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
  return x < 0 ? -r : r;
}

/** erfc(x) for x ≥ 1 (≤ ~190 terms there) by its continued fraction e^{-x²}/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …)))) (modified Lentz). */
function erfcFraction(x: number): number {
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = 1 / (x + a * d);
    c = x + a / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/**
 * erfc in double precision, accurate in relative terms in both tails (so Gelu's 1 + erf(x) = erfc(-x)
 * keeps its digits for very negative x, where finite differences still look).
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 1) return erfcFraction(x);
  if (x <= -1) return 2 - erfcFraction(-x);
  return 1 - erfSeries(x);
}

/** erf in double precision (a few ulp). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) < 2.5) return erfSeries(x);
  return x > 0 ? 1 - erfcFraction(x) : erfcFraction(-x) - 1;
}
