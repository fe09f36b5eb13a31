import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { fSurvival, incompleteBeta, logGamma, nestedFTest } from '../../../src/engine/methods/study/fdist';
import { layerTracingR2 } from '../../../src/engine/methods/study/ols';

const close = (a: number, b: number, tol: number): void => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

test('logGamma and the incomplete beta function at hand-computable points', () => {
  close(logGamma(5), Math.log(24), 1e-13);
  close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13);
  close(incompleteBeta(0.3, 1, 1), 0.3, 1e-14); // uniform
  close(incompleteBeta(0.3, 2, 1), 0.09, 1e-14); // x²
  close(incompleteBeta(0.4, 3.5, 2.25) + incompleteBeta(0.6, 2.25, 3.5), 1, 1e-13); // symmetry
});

test('F upper tail: closed form for d1 = 2, and tabulated 5% critical values', () => {
  // P(F(2, d2) > f) = (1 + 2f/d2)^(−d2/2).
  for (const [f, d2] of [[0.5, 7], [3, 20], [10, 3]]) close(fSurvival(f, 2, d2), (1 + (2 * f) / d2) ** (-d2 / 2), 1e-12);
  close(fSurvival(4.9646, 1, 10), 0.05, 2e-5);
  close(fSurvival(2.5336, 5, 30), 0.05, 2e-5);
  assert.equal(fSurvival(0, 3, 4), 1);
});

test('nested F-test: df and edge cases', () => {
  // RSS 10 → 6 with 2 extra parameters, 20 − 4 residual df: F = (4/2)/(6/16) = 5.333…
  close(nestedFTest(10, 2, 6, 4, 20), fSurvival(16 / 3, 2, 16), 1e-15);
  assert.ok(Number.isNaN(nestedFTest(10, 2, 6, 4, 4)), 'no residual df');
  assert.ok(Number.isNaN(nestedFTest(10, 2, 10, 2, 20)), 'nothing added (aliased)');
  const layers = [0, 0, 0, 0, 1, 1, 1, 1];
  const t = [0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4];
  const y = [0.11, 0.19, 0.33, 0.38, 0.52, 0.49, 0.55, 0.5];
  const r = layerTracingR2(layers, t, y);
  assert.ok(r.pValue > 0 && r.pValue < 0.05, `p ${r.pValue}`);
});
