import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeRows, meanCI } from '../../../src/engine/methods/study/analyze';
import { layerTracingR2, rSquared } from '../../../src/engine/methods/study/ols';
import type { StudyRow } from '../../../src/engine/methods/study/types';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

test('simple regression: R² is the squared Pearson correlation (hand-computed)', () => {
  // x = 1..4, y = 2,4,5,4: Sxy = 3.5, Sxx = 5, Syy = 4.75 → r² = 12.25 / 23.75.
  const x = [1, 2, 3, 4];
  const y = [2, 4, 5, 4];
  close(rSquared([[1, 1, 1, 1], x], y), 12.25 / 23.75);
  close(layerTracingR2([0, 0, 0, 0], x, y).r2Tracing, 12.25 / 23.75);
});

test('layer as a factor: R² = 1 − within-layer RSS / TSS (hand-computed)', () => {
  // Layer means 1 and 4; RSS = 1 + 1 = 2; grand mean 2.5, TSS = 11 → R² = 9/11.
  close(layerTracingR2([0, 0, 1, 1], [0, 0, 0, 0], [0, 2, 4, 4]).r2Layer, 9 / 11);
});

test('perfectly layer-determined scores: r2Layer = 1 and r2LayerTracing = 1', () => {
  const r = layerTracingR2([0, 0, 1, 1, 2, 2], [0.1, 0.5, 0.2, 0.9, 0.3, 0.4], [1, 1, 3, 3, 2, 2]);
  close(r.r2Layer, 1);
  close(r.r2LayerTracing, 1);
  close(r.r2LayerTracing - r.r2Layer, 0);
});

test('a noise-free linear effect of tracing within each layer (own slope per layer): r2LayerTracing = 1 > r2Layer', () => {
  const layers = [0, 0, 0, 1, 1, 1, 2, 2, 2];
  const t = [0.1, 0.4, 0.8, 0.0, 0.3, 0.9, 0.2, 0.5, 0.6];
  const a = [0.2, 0.5, 0.1];
  const b = [1.0, -0.5, 2.0];
  const y = layers.map((l, i) => a[l] + b[l] * t[i]);
  const r = layerTracingR2(layers, t, y);
  close(r.r2LayerTracing, 1, 1e-10);
  assert.ok(r.r2Layer < 0.9, `r2Layer ${r.r2Layer}`);
});

test('tracing constant within each layer is aliased with the layer: no gain (as R drops aliased terms)', () => {
  const layers = [0, 0, 1, 1, 2, 2];
  const t = [0.3, 0.3, 0.7, 0.7, 0, 0];
  const y = [0.1, 0.4, 0.5, 0.9, 0.2, 0.3];
  const r = layerTracingR2(layers, t, y);
  close(r.r2LayerTracing, r.r2Layer, 1e-10);
});

test('constant scores: R² is undefined (NaN, null in JSON)', () => {
  assert.ok(Number.isNaN(layerTracingR2([0, 1], [0.1, 0.2], [1, 1]).r2Layer));
  assert.ok(Number.isNaN(rSquared([[1]], [])));
});

test('meanCI: mean ± 1.96 s/√n', () => {
  const c = meanCI([1, 2, 3]);
  close(c.mean, 2);
  close(c.hi - c.mean, 1.96 / Math.sqrt(3));
  close(c.mean - c.lo, 1.96 / Math.sqrt(3));
  assert.ok(Number.isNaN(meanCI([5]).lo));
});

test('analyzeRows: one row per method × problem × metric; null metrics are left out of n; perLayer means', () => {
  const row = (caseId: number, layer: number, te: number, rewrite: number, paraphrase: number | null): StudyRow => ({
    caseId, method: 'rome', problem: 'error-injection', layer, editLayers: [layer], tracingEffect: te, tracingEffectLastSubject: te,
    metrics: { rewrite, paraphrase, neighborhood: 1, overall: rewrite }, pre: { targetNewLogprob: -5, targetTrueLogprob: -1 }, post: { targetNewLogprob: -1, targetTrueLogprob: -5 }, seconds: 1,
  });
  const rows = [row(1, 0, 0.2, 0.9, 0.5), row(2, 0, 0.4, 0.7, null), row(1, 1, 0.1, 0.3, 0.2), row(2, 1, 0.5, 0.5, 0.4)];
  const a = analyzeRows(rows);
  assert.deepEqual(a.rows.map((r) => r.metric), ['rewrite', 'paraphrase', 'neighborhood', 'overall']);
  const rw = a.rows[0];
  assert.equal(rw.n, 4);
  // Layer means 0.8 and 0.4; RSS = 4 · 0.01 = 0.04; TSS = 0.2 → r2Layer = 0.8; two points per layer: both = 1.
  close(rw.r2Layer, 0.8, 1e-12);
  close(rw.r2LayerTracing, 1, 1e-12);
  close(rw.r2Gain, 0.2, 1e-12);
  assert.ok(Number.isNaN(rw.pValue), 'saturated: no residual df for the F-test');
  assert.equal(a.rows[1].n, 3);
  assert.ok(Number.isNaN(a.rows[2].r2Layer), 'constant neighborhood score');
  assert.deepEqual(a.perLayer.map((p) => p.layer), [0, 1]);
  close(a.perLayer[0].rewrite.mean, 0.8);
  close(a.perLayer[1].tracingEffect.mean, 0.3);
});
