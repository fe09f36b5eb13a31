import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EditResultDto, SweepResultDto } from '../../src/protocol/dto';
import { availableProtocols, compareRows, editCsv, protocolScoreRows, scoresUnder } from '../../webview/shared/editData';
import { csv } from '../../webview/shared/csv';
import { sweepCsv } from '../../webview/shared/sweepData';

/** An edit result as the worker sends it (numbers from a ROME edit of the embedded model, case 8024 at layer 3; JSON nulls where a score does not apply). */
const edit = {
  id: 'e1', method: 'rome', layers: [3], problem: 'error-injection', target: ' Microsoft',
  pre: { targetNewLogprob: -9.1, targetTrueLogprob: -0.2 },
  post: { targetNewLogprob: -0.05, targetTrueLogprob: -4.2 },
  metrics: { rewrite: 0.956, paraphrase: 0.162, neighborhood: 0.997, overall: 0.705, protocol: 'hase-normalized' },
  metricsByProtocol: {
    'hase-normalized': { rewrite: 0.956, paraphrase: 0.162, neighborhood: 0.997, overall: 0.705, protocol: 'hase-normalized' },
    'rome-probability': { rewrite: 1, paraphrase: 0, neighborhood: 1, overall: 2 / 3, protocol: 'rome-probability' },
    'token-accuracy': { rewrite: 1, paraphrase: 0, neighborhood: null, overall: 0.5, protocol: 'token-accuracy' },
    generation: { rewrite: 1, paraphrase: 0.5, neighborhood: 1, overall: 5 / 6, protocol: 'generation', extraTokens: 5 },
  },
  romeMetrics: { efficacy: 1, paraphrase: 0, neighborhood: 1, efficacyMagnitude: 0.9, paraphraseMagnitude: -0.1, neighborhoodMagnitude: 0.4 },
  deltas: [], seconds: 3.2, requests: [], hparams: {}, notes: [], stack: { edits: [] },
} as unknown as EditResultDto;
/** The same edit saved before the protocols existed. */
const old = { ...edit, metrics: { rewrite: 0.956, paraphrase: 0.162, neighborhood: 0.997, overall: 0.705 }, metricsByProtocol: undefined } as unknown as EditResultDto;

describe('edit scores under named protocols (panels and CSV)', () => {
  test('the protocols a result has, in the fixed order; an old result has the paper scores only', () => {
    assert.deepEqual(availableProtocols(edit), ['hase-normalized', 'rome-probability', 'token-accuracy', 'generation']);
    assert.deepEqual(availableProtocols(old), ['hase-normalized']);
    assert.equal(scoresUnder(old, 'generation'), undefined);
    assert.equal(scoresUnder(edit, 'hase-normalized'), edit.metrics);
  });

  test('score rows are labelled with their protocol; null shows as NaN (—)', () => {
    const rows = protocolScoreRows(edit, 'token-accuracy');
    assert.deepEqual(rows.map((r) => [r.label, r.after]), [['rewrite · token-accuracy', 1], ['paraphrase · token-accuracy', 0], ['neighborhood · token-accuracy', NaN], ['overall · token-accuracy', 0.5]]);
  });

  test('comparison under a protocol: its scores, right − left', () => {
    const right = { ...edit, metricsByProtocol: { ...edit.metricsByProtocol!, generation: { ...edit.metricsByProtocol!.generation, paraphrase: 1 } } } as EditResultDto;
    const gen = compareRows(edit, right, 'generation');
    const p = gen.find((r) => r.key === 'paraphrase')!;
    assert.deepEqual([p.label, p.left, p.right, p.diff], ['paraphrase · generation', 0.5, 1, 0.5]);
    assert.equal(compareRows(edit, right).find((r) => r.key === 'paraphrase')!.diff, 0); // the default is hase-normalized
    assert.equal(compareRows(edit, old, 'generation').some((r) => r.key === 'rewrite'), false); // only what both have
  });

  test('CSV names carry the protocol: the paper scores first, then every other protocol', () => {
    const rows = editCsv(edit);
    const names = rows.filter((r) => r[0] === 'metric').map((r) => r[1] as string);
    assert.deepEqual(names.slice(0, 16), ['hase-normalized', 'rome-probability', 'token-accuracy', 'generation'].flatMap((p) => ['rewrite', 'paraphrase', 'neighborhood', 'overall'].map((k) => `${p}.${k}`)));
    assert.deepEqual(rows.find((r) => r[1] === 'generation.paraphrase'), ['metric', 'generation.paraphrase', null, 0.5]);
    assert.match(csv(rows), /\r\nmetric,token-accuracy\.neighborhood,,\r\n/);
    assert.equal(editCsv(old).filter((r) => /^[a-z-]+\.(rewrite|overall)$/.test(String(r[1]))).length, 2);
  });
});

describe('sweep CSV columns carry the protocol', () => {
  test('the paper scores, then every protocol all points have', () => {
    const m = (v: number) => ({ rewrite: v, paraphrase: v, neighborhood: null, overall: v });
    const by = (v: number) => ({ 'hase-normalized': m(v), 'rome-probability': m(1), 'token-accuracy': m(0.5), generation: m(0) });
    const sweep = { subject: 'Google Patents', problem: 'error-injection', tracingEffect: [0.1, 0.2], points: [
      { method: 'rome', layer: 0, editLayers: [0], metrics: m(0.9), metricsByProtocol: by(0.9), seconds: 1 },
      { method: 'rome', layer: 1, editLayers: [1], metrics: m(0.4), metricsByProtocol: by(0.4), seconds: 2 },
    ] } as unknown as SweepResultDto;
    const rows = sweepCsv(sweep);
    assert.equal(rows[0].length, 3 + 16 + 2);
    assert.deepEqual(rows[0].slice(3, 8), ['rewrite_hase_normalized', 'paraphrase_hase_normalized', 'neighborhood_hase_normalized', 'overall_hase_normalized', 'rewrite_rome_probability']);
    assert.equal(rows[0][18], 'overall_generation');
    assert.deepEqual(rows[2].slice(3, 12), [0.4, 0.4, null, 0.4, 1, 1, null, 1, 0.5]);
    const old = { ...sweep, points: sweep.points.map((p) => ({ ...p, metricsByProtocol: undefined })) } as unknown as SweepResultDto;
    assert.equal(sweepCsv(old)[0].length, 3 + 4 + 2);
  });
});
