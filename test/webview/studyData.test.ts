/**
 * The Study panel's pure helpers: the host's packing of a `study/analyze` answer (points as typed
 * columns, nulls back to NaN, the summary and Resume's params from the manifest), the palette's input
 * checks, and the webview's table CSV, band curves and scatter groups — on a small hand-made study.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StudyAnalysisDto } from '../../src/protocol/dto';
import { checkCasesText, checkStudyName, defaultStudyName, packPoints, parseLayersText, resumeParams, shardCount, studySummary, studyView } from '../../src/extension/panels/studyData';
import { csv } from '../../webview/shared/csv';
import { fmtP, fmtR2, layerColour, meanBand, metricCurves, perLayerCsv, pointsCsv, r2Csv, scatterByLayer, stageOf, summaryLine, tracingCurve } from '../../webview/study/data';

const ci = (mean: number | null, lo: number | null, hi: number | null, n: number) => ({ mean, lo, hi, n }) as { mean: number; lo: number; hi: number; n: number };

/** Two facts (7, 9) × rome, ft × layers 0, 1 — what the worker answers over JSON (NaN as null). */
const analysis: StudyAnalysisDto = {
  dir: '/ws/.locus/runs/s1',
  manifest: {
    kind: 'locus-study', model: { name: 'tiny', n_layers: 2 }, started: '2024-05-01T10:00:00.000Z',
    spec: { cases: [7, 9, 11], methods: ['rome', 'ft'], problems: ['error-injection'], layers: [0, 1], dataset: '/d.json', seed: 3 },
  },
  rows: [
    { method: 'rome', problem: 'error-injection', metric: 'rewrite', n: 4, r2Layer: 0.25, r2LayerTracing: 0.3125, r2Gain: 0.0625, r2Tracing: 0.01, pValue: 0.00003 },
    { method: 'rome', problem: 'error-injection', metric: 'paraphrase', n: 4, r2Layer: null as unknown as number, r2LayerTracing: null as unknown as number, r2Gain: null as unknown as number, r2Tracing: 0, pValue: null as unknown as number },
  ],
  perLayer: [
    { method: 'rome', problem: 'error-injection', layer: 0, n: 2, tracingEffect: ci(0.5, 0.3, 0.7, 2), rewrite: ci(0.9, 0.8, 1.0, 2), paraphrase: ci(0.2, null, null, 1), neighborhood: ci(0.1, 0, 0.2, 2), overall: ci(0.4, 0.3, 0.5, 2) },
    { method: 'rome', problem: 'error-injection', layer: 1, n: 2, tracingEffect: ci(0.25, 0.2, 0.3, 2), rewrite: ci(0.6, 0.5, 0.7, 2), paraphrase: ci(0.2, 0.1, 0.3, 2), neighborhood: ci(0.1, 0, 0.2, 2), overall: ci(0.4, 0.3, 0.5, 2) },
    { method: 'ft', problem: 'error-injection', layer: 1, n: 1, tracingEffect: ci(0.25, null, null, 1), rewrite: ci(0.3, null, null, 1), paraphrase: ci(0, null, null, 1), neighborhood: ci(1, null, null, 1), overall: ci(0.2, null, null, 1) },
  ],
  points: [
    { caseId: 7, method: 'rome', problem: 'error-injection', layer: 0, tracingEffect: 0.4, rewrite: 0.85, paraphrase: 0.2, neighborhood: 0.1, overall: 0.4 },
    { caseId: 7, method: 'rome', problem: 'error-injection', layer: 1, tracingEffect: 0.2, rewrite: 0.55, paraphrase: null, neighborhood: 0.1, overall: 0.4 },
    { caseId: 9, method: 'rome', problem: 'error-injection', layer: 0, tracingEffect: 0.6, rewrite: 0.95, paraphrase: 0.2, neighborhood: 0.1, overall: 0.4 },
    { caseId: 9, method: 'rome', problem: 'error-injection', layer: 1, tracingEffect: 0.3, rewrite: 0.65, paraphrase: 0.2, neighborhood: 0.1, overall: 0.4 },
    { caseId: 7, method: 'ft', problem: 'error-injection', layer: 1, tracingEffect: 0.2, rewrite: 0.3, paraphrase: 0, neighborhood: 1, overall: 0.2 },
  ],
};

describe('study panel: host-side packing', () => {
  const view = studyView(analysis);

  test('points become typed columns indexed into method / problem names; null scores become NaN', () => {
    const p = view.points;
    assert.equal(p.count, 5);
    assert.deepEqual([p.methods, p.problems], [['rome', 'ft'], ['error-injection']]);
    assert.deepEqual([...p.method], [0, 0, 0, 0, 1]);
    assert.deepEqual([...p.caseId], [7, 7, 9, 9, 7]);
    assert.deepEqual([...p.layer], [0, 1, 0, 1, 1]);
    assert.ok(p.rewrite instanceof Float32Array && p.tracingEffect instanceof Float32Array);
    assert.equal(p.rewrite[2], Math.fround(0.95));
    assert.ok(Number.isNaN(p.paraphrase[1]));
    assert.deepEqual(packPoints([]).count, 0);
  });

  test('R² rows and bands: nulls from the JSON leg read as NaN, numbers are kept', () => {
    assert.equal(view.rows[0].r2Gain, 0.0625);
    assert.ok(Number.isNaN(view.rows[1].r2Layer) && Number.isNaN(view.rows[1].pValue));
    assert.ok(Number.isNaN(view.perLayer[0].paraphrase.lo));
    assert.equal(view.perLayer[0].rewrite.hi, 1.0);
  });

  test('summary: 3 cases × 2 methods × 1 problem × 2 layers = 12 expected, 5 written (partial, resumable)', () => {
    const s = view.summary;
    assert.deepEqual([s.name, s.model, s.nLayers, s.cases, s.rows, s.expected, s.merged, s.resumeNote], ['s1', 'tiny', 2, 3, 5, 12, false, undefined]);
    assert.equal(summaryLine(s), 'tiny · 3 facts · rome, ft · error-injection · layers 0, 1');
    const shard = studySummary('/x/shard1', { ...(analysis.manifest as object), shard: { i: 1, n: 2 } }, 2);
    assert.deepEqual([shard.expected, shard.shard], [1 * 2 * 1 * 2, '1/2']);
    assert.match(shard.resumeNote!, /--shard 1\/2/);
  });

  test('shardCount: the cases at index % n == i', () => {
    assert.deepEqual([shardCount(10), shardCount(10, { i: 0, n: 4 }), shardCount(10, { i: 1, n: 4 }), shardCount(10, { i: 3, n: 4 }), shardCount(2, { i: 3, n: 4 })], [10, 3, 3, 2, 0]);
  });

  test('resumeParams: the manifest spec as study/run params; a shard or a spec-less manifest is refused', () => {
    assert.deepEqual(resumeParams('/ws/s1', analysis.manifest), { dir: '/ws/s1', cases: '7,9,11', methods: ['rome', 'ft'], problems: ['error-injection'], layers: [0, 1], seed: 3 });
    assert.throws(() => resumeParams('/ws/s1', { ...(analysis.manifest as object), shard: { i: 0, n: 2 } }), /shard 0\/2/);
    assert.throws(() => resumeParams('/ws/s1', {}), /no study spec/);
  });

  test('palette inputs: names, --cases texts, layer lists', () => {
    assert.equal(defaultStudyName(new Date(2024, 4, 1, 9, 5)), 'study-2024-05-01-0905');
    assert.equal(checkStudyName('study-1.b_c'), undefined);
    assert.match(checkStudyName('../x') ?? '', /letters, digits/);
    assert.match(checkStudyName(' ') ?? '', /name/);
    for (const ok of ['known:20', '0-99', '12,40,77', '0-9, 40']) assert.equal(checkCasesText(ok), undefined, ok);
    for (const bad of ['known:0', 'known:', 'first 20', '1-']) assert.match(checkCasesText(bad) ?? '', /known:N/, bad);
    assert.equal(parseLayersText('all', 6), undefined);
    assert.deepEqual(parseLayersText('4, 0,2-3,2', 6), [0, 2, 3, 4]);
    assert.throws(() => parseLayersText('0,6', 6), /Layer 6 is outside 0\.\.5/);
    assert.throws(() => parseLayersText('3-1'), /reversed/);
    assert.throws(() => parseLayersText('x'), /not a layer/);
  });
});

describe('study panel: webview helpers', () => {
  const view = studyView(analysis);

  test('the R² table as CSV, every column in full precision, undefined cells empty', () => {
    assert.equal(
      csv(r2Csv(view.rows)),
      'method,problem,metric,protocol,n,r2_layer,r2_layer_tracing,r2_gain,r2_tracing,p_value\r\n' +
        'rome,error-injection,rewrite,hase-normalized,4,0.25,0.3125,0.0625,0.01,0.00003\r\n' +
        'rome,error-injection,paraphrase,hase-normalized,4,,,,0,\r\n',
    );
  });

  test('per-layer CSV: mean, lo, hi of the tracing effect and each score', () => {
    const rows = perLayerCsv(view.perLayer);
    assert.deepEqual(rows[0].slice(0, 7), ['method', 'problem', 'layer', 'n', 'tracing_effect_mean', 'tracing_effect_lo', 'tracing_effect_hi']);
    assert.equal(rows[0].length, 4 + 5 * 3);
    assert.deepEqual(rows[0].slice(7, 10), ['rewrite_hase_normalized_mean', 'rewrite_hase_normalized_lo', 'rewrite_hase_normalized_hi']);
    assert.deepEqual(rows[1].slice(0, 10), ['rome', 'error-injection', 0, 2, 0.5, 0.3, 0.7, 0.9, 0.8, 1.0]);
  });

  test('points CSV: float32 values written with the digits they hold', () => {
    const rows = pointsCsv(view.points);
    assert.deepEqual(rows[0], ['case_id', 'method', 'problem', 'layer', 'tracing_effect', 'rewrite_hase_normalized', 'paraphrase_hase_normalized', 'neighborhood_hase_normalized', 'overall_hase_normalized']);
    assert.deepEqual(rows[3], [9, 'rome', 'error-injection', 0, 0.6, 0.95, 0.2, 0.1, 0.4]);
    assert.ok(Number.isNaN(rows[2][6] as number));
    assert.match(csv(rows).split('\r\n')[2], /^7,rome,error-injection,1,0.2,0.55,,0.1,0.4$/);
  });

  test('metric curves: one band series per method on the union of layers, gaps as null', () => {
    const c = metricCurves(view.perLayer, 'error-injection', 'rewrite');
    assert.deepEqual(c.layers, [0, 1]);
    assert.deepEqual(c.series.map((s) => s.label), ['rome', 'ft']);
    assert.deepEqual(c.series[0], { label: 'rome', mean: [0.9, 0.6], lo: [0.8, 0.5], hi: [1.0, 0.7] });
    assert.deepEqual(c.series[1], { label: 'ft', mean: [null, 0.3], lo: [null, null], hi: [null, null] });
    assert.deepEqual(metricCurves(view.perLayer, 'fact-erasure', 'rewrite'), { layers: [], series: [] });
  });

  test('tracing curve: each fact once per layer, mean ± 1.96 s/√n', () => {
    const t = tracingCurve(view.points, 'error-injection', [0, 1]);
    // layer 0: facts 7 (0.4) and 9 (0.6); layer 1: fact 7 (0.2, seen by rome and ft) and 9 (0.3).
    const half0 = (1.96 * Math.sqrt(((0.4 - 0.5) ** 2 + (0.6 - 0.5) ** 2) / 1)) / Math.sqrt(2);
    assert.ok(Math.abs(t.mean[0]! - 0.5) < 1e-7 && Math.abs(t.mean[1]! - 0.25) < 1e-7, `${t.mean}`);
    assert.ok(Math.abs(t.hi[0]! - (0.5 + half0)) < 1e-6 && Math.abs(t.lo[0]! - (0.5 - half0)) < 1e-6, `${t.lo} ${t.hi}`);
    assert.deepEqual(meanBand([2]), { mean: 2, lo: NaN, hi: NaN, n: 1 });
  });

  test('scatter groups: one per layer of the chosen method and problem, undefined scores left out', () => {
    const g = scatterByLayer(view.points, 'rome', 'error-injection', 'paraphrase');
    assert.deepEqual(g.map((x) => [x.layer, x.points.length]), [[0, 2], [1, 1]]);
    assert.deepEqual(g[1].points, [{ x: Math.fround(0.3), y: Math.fround(0.2) }]);
    assert.deepEqual(scatterByLayer(view.points, 'memit', 'error-injection', 'rewrite'), []);
  });

  test('formatting and colours', () => {
    assert.deepEqual([fmtR2(0.12345), fmtR2(NaN), fmtR2(-0.0001)], ['0.123', '—', '0.000']);
    assert.deepEqual([fmtP(0.00003), fmtP(0.0005), fmtP(0.25), fmtP(NaN)], ['<1e-4', '5.0e-4', '0.250', '—']);
    assert.deepEqual([layerColour(0, 5), layerColour(4, 5), layerColour(0, 1)], ['#440154', '#fde725', '#440154']);
    assert.equal(stageOf('3/12 edits · ETA 2 min · case 7: rome error-injection layer 1'), 'ETA 2 min · case 7: rome error-injection layer 1');
    assert.equal(stageOf('finding 20 facts the model knows'), 'finding 20 facts the model knows');
  });
});
