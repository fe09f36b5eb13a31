/** The panels' pure helpers (webview/shared/*, src/extension/panels/wire.ts): colour scales, CSV, grid and sweep shaping. */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EditResultDto, SweepResultDto, TraceResultDto } from '../../src/protocol/dto';
import { checkEditForm, checkSweepForm, checkTraceOptions, exportBytes, factFromPrompt, factFromRecord, factKey, packTrace, safeFileName } from '../../src/extension/panels/wire';
import { normalise, RAMPS, rampColour, withAlpha } from '../../webview/shared/colour';
import { csv, csvField, fileSlug } from '../../webview/shared/csv';
import { compareRows, editCsv, editMetricRows, fixed3 } from '../../webview/shared/editData';
import { cellAt, effectCsv, gridCsv, gridPoints, gridRange, score4, tickEvery, tokenLabels } from '../../webview/shared/gridData';
import { effectAt, parseLayers, sweepCsv, sweepSeries } from '../../webview/shared/sweepData';

describe('colour scale', () => {
  test('rampColour: the anchors at 0, ½ and 1, RGB-linear between, clamped outside', () => {
    assert.equal(rampColour(RAMPS.hidden, 0), '#fcfbfd');
    assert.equal(rampColour(RAMPS.hidden, 0.5), '#9e9ac8');
    assert.equal(rampColour(RAMPS.hidden, 1), '#3f007d');
    // halfway between #fcfbfd and #efedf5 (x = 1/16): (252+239)/2 = 245.5 → 246, 244, 249
    assert.equal(rampColour(RAMPS.hidden, 1 / 16), '#f6f4f9');
    assert.equal(rampColour(RAMPS.mlp, -3), '#f7fcf5');
    assert.equal(rampColour(RAMPS.attn, 7), '#67000d');
    assert.equal(rampColour(RAMPS.attn, Number.NaN), '#fff5f0');
  });

  test('normalise maps [lo, hi] onto [0, 1], clamps, and reads an empty range as 0', () => {
    assert.equal(normalise(0.375, 0.25, 0.75), 0.25);
    assert.equal(normalise(0.05, 0.1, 0.5), 0);
    assert.equal(normalise(0.9, 0.1, 0.5), 1);
    assert.equal(normalise(0.2, 0.2, 0.2), 0);
  });

  test('withAlpha reads the colour forms VS Code theme variables hold', () => {
    assert.equal(withAlpha('#ff8000', 0.5), 'rgba(255, 128, 0, 0.5)');
    assert.equal(withAlpha('#f80', 1), 'rgba(255, 136, 0, 1)');
    assert.equal(withAlpha('#ff800080', 1), 'rgba(255, 128, 0, 0.502)');
    assert.equal(withAlpha('rgba(10, 20, 30, 0.5)', 0.5), 'rgba(10, 20, 30, 0.25)');
    assert.equal(withAlpha('rgb(1 2 3 / 40%)', 1), 'rgba(1, 2, 3, 0.4)');
    assert.equal(withAlpha('tomato', 1), undefined);
  });
});

describe('CSV', () => {
  test('quotes commas, quotes and newlines; defuses formulas; empty for null and NaN', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('=SUM(A1)'), "'=SUM(A1)");
    assert.equal(csvField(-0.25), '-0.25');
    assert.equal(csvField(null), '');
    assert.equal(csvField(Number.NaN), '');
    assert.equal(csv([['a', 1], [' b', null]]), 'a,1\r\n b,\r\n');
  });

  test('fileSlug keeps export names plain', () => {
    assert.equal(fileSlug('The Space Needle'), 'the-space-needle');
    assert.equal(fileSlug('Côte d’Ivoire!'), 'c-te-d-ivoire');
    assert.equal(fileSlug('***'), 'locus');
  });
});

/** A 3-token, 2-layer trace as `locus trace --json` answers it (numbers chosen to check the packing). */
const trace: TraceResultDto = {
  tokens: ['The', ' Eiffel', '\n'],
  ids: [1, 2, 3],
  subjectRange: [1, 2],
  answer: { id: 9, token: ' Paris', ids: [9] },
  highScore: 0.8,
  lowScore: 0.05,
  noiseLevel: 0.13,
  samples: 10,
  seed: 1,
  score: 'first-token',
  grids: {
    hidden: { window: 1, scores: [[0.05, 0.06], [0.7, 0.4], [0.1, 0.123456789]] },
    mlp: { window: 10, scores: [[0.05, 0.05], [0.3, 0.2], [0.09, 0.08]] },
  },
  tracingEffect: { hidden: [0.86, 0.47], mlp: [0.33, 0.2] },
  tracingEffectLastSubject: { hidden: [0.86, 0.47], mlp: [0.33, 0.2] },
  cells: 12,
  seconds: 0.5,
};

describe('trace grids', () => {
  const view = packTrace(trace);
  const hidden = view.grids.find((g) => g.kind === 'hidden')!;

  test('packTrace flattens each grid row-major into a Float32Array, hidden before mlp', () => {
    assert.deepEqual(view.grids.map((g) => [g.kind, g.tokens, g.layers, g.window]), [['hidden', 3, 2, 1], ['mlp', 3, 2, 10]]);
    assert.ok(hidden.scores instanceof Float32Array);
    assert.equal(cellAt(hidden, 1, 0), Math.fround(0.7));
    assert.equal(cellAt(hidden, 2, 1), Math.fround(0.123456789));
    assert.equal(view.answer, ' Paris');
  });

  test('labels mark subject tokens with * and show control characters', () => {
    assert.deepEqual(tokenLabels(trace.tokens, trace.subjectRange), ['The', ' Eiffel*', '\\n']);
  });

  test('colour range runs from the low score to the grid maximum; points are (layer, token, score)', () => {
    assert.deepEqual(gridRange(hidden, 0.05), { lo: 0.05, hi: Math.fround(0.7) });
    const pts = gridPoints(hidden);
    assert.equal(pts.length, 6);
    assert.deepEqual(pts[3], { x: 1, y: 1, v: Math.fround(0.4) });
    assert.equal(score4(Math.fround(0.123456789)), '0.1235');
    assert.equal(score4(-0.00001), '0.0000');
    assert.deepEqual([tickEvery(6), tickEvery(28), tickEvery(48)], [1, 5, 10]);
  });

  test('grid and tracing-effect CSV rows', () => {
    const rows = gridCsv(hidden, trace.tokens, trace.subjectRange);
    assert.deepEqual(rows[0], ['token_index', 'token', 'layer_0', 'layer_1']);
    assert.deepEqual(rows[2], [1, ' Eiffel*', Math.fround(0.7), Math.fround(0.4)]);
    const eff = effectCsv(trace.tracingEffect, trace.tracingEffectLastSubject);
    assert.deepEqual(eff[0], ['layer', 'hidden_max_over_tokens', 'hidden_last_subject_token', 'mlp_max_over_tokens', 'mlp_last_subject_token']);
    assert.deepEqual(eff[2], [1, 0.47, 0.47, 0.2, 0.2]);
  });
});

describe('facts and form checks (host side)', () => {
  test('a dataset record fills its template; a free prompt must contain its subject', () => {
    const f = factFromRecord({ case_id: 7, subject: 'Angola', relation_id: 'P30', prompt: '{} is located in', target_true: 'Africa', target_new: 'Antarctica' });
    assert.deepEqual([f.prompt, f.subjectStart, f.canEdit, f.targetNew], ['Angola is located in', 0, true, 'Antarctica']);
    const p = factFromPrompt('I think The Space Needle is in', 'The Space Needle');
    assert.deepEqual([p.subjectStart, p.canEdit], [8, false]);
    assert.throws(() => factFromPrompt('The Space Needle is in', 'Eiffel Tower'), /does not contain the subject "Eiffel Tower"/);
    assert.notEqual(factKey({ caseId: 7 }), factKey({ prompt: 'a', subject: 'a' }));
  });

  test('webview messages are checked before they reach the worker', () => {
    assert.deepEqual(checkEditForm({ method: 'rome', problem: 'fact-erasure', layer: 3, hparams: { v_lr: 0.5 } }, 6), { method: 'rome', problem: 'fact-erasure', layer: 3, hparams: { v_lr: 0.5 } });
    assert.throws(() => checkEditForm({ method: 'rome', problem: 'error-injection', layer: 6 }, 6), /Layer must be from 0 to 5/);
    // The method list is the loaded model's (the worker's registry); without it, any non-empty id goes on to the worker's check.
    assert.throws(() => checkEditForm({ method: 'grace', problem: 'error-injection' }, 6, ['rome', 'memit']), /Method must be one of rome, memit/);
    assert.throws(() => checkEditForm({ method: 42, problem: 'error-injection' }, 6), /Choose a method/);
    assert.throws(() => checkSweepForm({ caseId: 4, methods: ['rome', 'grace'], problem: 'error-injection' }, 6, ['rome', 'ft']), /methods of rome, ft/);
    assert.throws(() => checkEditForm({ method: 'ft', problem: 'error-injection', hparams: [1] }, 6), /JSON object/);
    assert.deepEqual(checkTraceOptions({ window: 3, samples: 5, target: '' }, 6), { window: 3, samples: 5 });
    assert.throws(() => checkTraceOptions({ window: 0 }, 6), /Window/);
    assert.deepEqual(checkSweepForm({ caseId: 4, methods: ['ft', 'rome', 'ft'], problem: 'error-injection', layers: [3, 1] }, 6), { caseId: 4, methods: ['ft', 'rome'], problem: 'error-injection', layers: [1, 3] });
    assert.throws(() => checkSweepForm({ caseId: 4, methods: [], problem: 'error-injection' }, 6), /methods/);
  });

  test('export bytes and file names', () => {
    assert.deepEqual([...exportBytes('a,é')], [97, 44, 195, 169]);
    assert.deepEqual([...exportBytes(new Uint8Array([1, 2, 3]).buffer)], [1, 2, 3]);
    assert.deepEqual([...exportBytes(new Uint8Array([9, 8, 7, 6]).subarray(1, 3))], [8, 7]);
    assert.deepEqual([...exportBytes({ 0: 137, 1: 80 })], [137, 80]);
    assert.throws(() => exportBytes(undefined), /no data/);
    assert.equal(safeFileName('../../etc/passwd', 'csv'), 'passwd.csv');
    assert.equal(safeFileName('space-needle-trace-mlp.png', 'png'), 'space-needle-trace-mlp.png');
  });
});

const sweep: SweepResultDto = {
  caseId: 3,
  subject: 'Angola',
  problem: 'error-injection',
  tracingEffect: [0.9, 0.4, 0.1],
  points: [
    { method: 'rome', layer: 0, editLayers: [0], metrics: { rewrite: 0.8, paraphrase: 0.5, neighborhood: 0.9, overall: 0.7 }, seconds: 1 },
    { method: 'rome', layer: 2, editLayers: [2], metrics: { rewrite: 0.2, paraphrase: 0.1, neighborhood: 0.95, overall: 0.3 }, seconds: 1 },
    { method: 'ft', layer: 1, editLayers: [1], metrics: { rewrite: 0.6, paraphrase: null, neighborhood: 0.5, overall: null }, seconds: 2 },
  ],
};

describe('layer sweeps', () => {
  test('series per method over every measured layer, with gaps as null', () => {
    assert.deepEqual(sweepSeries(sweep, 'rewrite'), [
      { method: 'rome', layers: [0, 1, 2], values: [0.8, null, 0.2] },
      { method: 'ft', layers: [0, 1, 2], values: [null, 0.6, null] },
    ]);
    assert.deepEqual(sweepSeries(sweep, 'paraphrase')[1].values, [null, null, null]);
    assert.deepEqual(effectAt(sweep, [0, 2, 5]), [0.9, 0.1, null]);
  });

  test('CSV: one row per point with the tracing effect at its layer', () => {
    const rows = sweepCsv(sweep);
    assert.deepEqual(rows[0], ['method', 'layer', 'edit_layers', 'rewrite_hase_normalized', 'paraphrase_hase_normalized', 'neighborhood_hase_normalized', 'overall_hase_normalized', 'tracing_effect', 'seconds']);
    assert.deepEqual(rows[3], ['ft', 1, '1', 0.6, null, 0.5, null, 0.4, 2]);
  });

  test('layer field: all, lists and ranges; out-of-range layers are refused', () => {
    assert.equal(parseLayers(' all ', 6), undefined);
    assert.equal(parseLayers('', 6), undefined);
    assert.deepEqual(parseLayers('4, 0-2, 1', 6), [0, 1, 2, 4]);
    assert.throws(() => parseLayers('3-9', 6), /layers 0–5 \(got 6\)/);
    assert.throws(() => parseLayers('5-3', 6), /backwards/);
    assert.throws(() => parseLayers('x', 6), /not a layer/);
  });
});

describe('edit results', () => {
  const edit = {
    id: 'e1', method: 'rome', layers: [2], problem: 'error-injection', target: ' Antarctica',
    pre: { targetNewLogprob: -12.5, targetTrueLogprob: -0.1 },
    post: { targetNewLogprob: -1.5, targetTrueLogprob: -1.9 },
    metrics: { rewrite: 0.2072, paraphrase: 0.5387, neighborhood: 0.8323, overall: 0.5261 },
    romeMetrics: { efficacy: 1, paraphrase: 0.5, neighborhood: 0.7, efficacyMagnitude: 0.05, paraphraseMagnitude: 0.27, neighborhoodMagnitude: 0.46 },
    deltas: [], seconds: 3.2, requests: [], hparams: {}, notes: [], stack: { edits: [] },
  } as unknown as EditResultDto;

  test('metric rows: the normalised scores exist after the edit only, log-probs before and after', () => {
    const rows = editMetricRows(edit);
    assert.deepEqual(rows.map((r) => [r.key, r.before, r.after]), [
      ['rewrite', null, 0.2072], ['paraphrase', null, 0.5387], ['neighborhood', null, 0.8323], ['overall', null, 0.5261],
      ['logprob-new', -12.5, -1.5], ['logprob-true', -0.1, -1.9],
    ]);
    assert.equal(rows[4].label, 'log p(Antarctica)');
    assert.deepEqual([fixed3(0.2072), fixed3(null), fixed3(-0.0001)], ['0.207', '—', '0.000']);
  });

  test('comparison rows give right − left; CSV lists every metric', () => {
    const better = { ...edit, metrics: { ...edit.metrics, rewrite: 0.5072 } } as EditResultDto;
    const rewrite = compareRows(edit, better).find((r) => r.key === 'rewrite')!;
    assert.equal(Math.round(rewrite.diff * 1e6) / 1e6, 0.3);
    const rows = editCsv(edit);
    assert.deepEqual(rows[1], ['metric', 'hase-normalized.rewrite', null, 0.2072]);
    assert.equal(rows.length, 1 + 6 + 6);
  });
});
