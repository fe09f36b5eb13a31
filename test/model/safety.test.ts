import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultDatasetPath, loadCounterFact, loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { romePresetFor } from '../../src/engine/methods/edit/presets/choosePreset';
import { computeRome } from '../../src/engine/methods/rome/index';
import type { RomeLayerDetails, RomeResult } from '../../src/engine/methods/rome/index';
import { sampleContextTemplates } from '../../src/engine/methods/rome/templates';
import { loadOrComputeSecondMoment } from '../../src/engine/methods/stats/statsCache';
import { defaultStatsCorpusFor } from '../../src/engine/methods/stats/modelCorpus';
import { choleskyFactorShared, choleskySolve, dot } from '../../src/engine/methods/linalg';
import { keyDenominatorBySolve, keyDenominatorFromLeftVector, whitenedDenominator } from '../../src/engine/methods/edit/keyDenominator';
import { assessSafety, denominatorChecks, SAFETY_THRESHOLDS, subjectPositionChecks } from '../../src/engine/methods/edit/safety';
import type { Edit } from '../../src/engine/methods/edit/edits';
import type { CounterFactRecord } from '../../src/engine/index';
import { tempDir } from '../helpers/paths';

/** Deterministic pseudo-random numbers (mulberry32) for the synthetic keys. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

describe('update denominator: the arithmetic', () => {
  const M = 24;
  const N = 300;
  const r = rng(7);
  // Keys with unequal scales per direction, like MLP keys; C = E[k kᵀ] over exactly these keys.
  const keys = Array.from({ length: N }, () => Float64Array.from({ length: M }, (_, j) => r() * (1 + j / 4) + (j === 0 ? 0.8 : 0)));
  const C = new Float64Array(M * M); // [d_mlp, d_mlp]
  for (const k of keys) for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) C[i * M + j] += (k[i] * k[j]) / N;
  const L = choleskyFactorShared(C, M);

  test('E[kᵀC⁻¹k] over the keys C was computed from is d_mlp (to 1e-9)', () => {
    const mean = keys.reduce((s, k) => s + dot(choleskySolve(L, M, k), k), 0) / N;
    assert.ok(Math.abs(mean - M) < 1e-9, `mean kᵀC⁻¹k ${mean}, d_mlp ${M}`);
  });

  test('the denominator from the left vector equals the Cholesky solve (1e-10 relative; float32 u: 1e-5)', () => {
    const kStar = keys[3];
    const kUsed = keys[4];
    const x = choleskySolve(L, M, kStar);
    const s = Math.sqrt(dot(x, x));
    const u = x.map((v) => v / s);
    const bySolve = keyDenominatorBySolve(C, kStar, kUsed);
    const fromU = keyDenominatorFromLeftVector(C, u, kStar, kUsed);
    const from32 = keyDenominatorFromLeftVector(C, Float32Array.from(u), kStar, kUsed);
    assert.ok(Math.abs(fromU.used / bySolve.used - 1) < 1e-10, `${fromU.used} vs ${bySolve.used}`);
    assert.ok(Math.abs(fromU.consistent / bySolve.consistent - 1) < 1e-10, `${fromU.consistent} vs ${bySolve.consistent}`);
    assert.ok(Math.abs(from32.used / bySolve.used - 1) < 1e-5, `float32 u: ${from32.used} vs ${bySolve.used}`);
    // Whitened: D = d|d|/d*, and D = d exactly with consistent keys.
    const D = whitenedDenominator(C, u, kUsed);
    const expected = (bySolve.used * Math.abs(bySolve.used)) / bySolve.consistent;
    assert.ok(Math.abs(D / expected - 1) < 1e-10, `${D} vs ${expected}`);
    assert.ok(Math.abs(whitenedDenominator(C, u, kStar) / bySolve.consistent - 1) < 1e-10);
  });
});

describe('pre-flight safety on the embedded model', () => {
  let model: LoadedModel;
  let tmp: string;
  let C: Float64Array;
  let layer: number;
  let records: CounterFactRecord[];
  let templates: string[];
  const rome = async (rec: CounterFactRecord): Promise<RomeResult> => {
    // 10 v steps: these tests are about the checks, not the edit's quality.
    const h = { ...romePresetFor(model.config).hparams, v_num_grad_steps: 10 };
    return computeRome(model, rec.requested_rewrite, { hparams: h, contextTemplates: templates, secondMoment: async () => C });
  };
  const keysOf = (d: RomeLayerDetails): Map<number, Float64Array[]> => new Map([[d.layer, [d.kUpdate]]]);

  before(async () => {
    model = await loadModel('default');
    tmp = tempDir('locus-safety-');
    const h = romePresetFor(model.config).hparams;
    layer = h.layers[0];
    templates = await sampleContextTemplates(model, h.context_template_length_params, 0);
    const m = await loadOrComputeSecondMoment(model, [layer], () => defaultStatsCorpusFor(model.manifest.path), { cacheDir: path.join(tmp, 'stats'), sampleSize: h.mom2_n_samples });
    C = m.get(layer)!.mom2;
    records = loadCounterFact(defaultDatasetPath());
  });
  after(async () => {
    await model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a normal ROME edit (subject after a prefix) is not flagged; its denominator two ways agrees to 1e-9', async () => {
    const rec = records.find((r) => r.requested_rewrite.prompt === 'The mother tongue of {} is')!;
    const res = await rome(rec);
    const d = res.details[0];
    const fromU = keyDenominatorFromLeftVector(C, d.u, d.kStar, d.kPrompt);
    const bySolve = keyDenominatorBySolve(C, d.kStar, d.kPrompt);
    assert.ok(Math.abs(fromU.used / bySolve.used - 1) < 1e-9, `${fromU.used} vs ${bySolve.used}`);
    const safety = await assessSafety(model, { edit: res.edit, requests: [rec.requested_rewrite], keys: keysOf(d), secondMoment: async () => C });
    const byName = new Map(safety.checks.map((c) => [c.name, c]));
    assert.deepEqual([...byName.keys()].sort(), ['canary-perplexity', 'delta-norm-ratio', 'subject-first-token', 'update-denominator']);
    assert.equal(safety.flagged, false, JSON.stringify(safety, null, 1));
    // Measured: (C⁻¹k*)ᵀk / d_mlp 1.106; ‖ΔW‖/‖W‖ ≈ 0.06; canary perplexity +1.7 %.
    // The check's D (float32 u of the ΔW) against d|d|/d* by the Cholesky solve: 1e-5 relative.
    const den = byName.get('update-denominator')!;
    const expected = (bySolve.used * Math.abs(bySolve.used)) / bySolve.consistent / model.config.d_mlp;
    assert.ok(Math.abs(den.value / expected - 1) < 1e-5, `${den.value} vs ${expected}`);
    assert.ok(den.value > 0.7 && den.value < 1.5, `denominator ratio ${den.value}`);
    assert.ok(byName.get('delta-norm-ratio')!.value < 0.2, `‖ΔW‖/‖W‖ ${byName.get('delta-norm-ratio')!.value}`);
    assert.ok(Math.abs(byName.get('canary-perplexity')!.value) < 0.05, `canary change ${byName.get('canary-perplexity')!.value}`);
    assert.equal(byName.get('subject-first-token')!.value, 4);
  });

  test('a first-token subject with normal numbers is reported, not flagged (it was, before the r-ROME analysis was measured)', async () => {
    // CounterFact 20952, "{} is located in", Angola: measured with the preset, D/d_mlp 0.41, ‖ΔW‖/‖W‖ 0.46, canary +2.7 %.
    const rec = records.find((r) => r.requested_rewrite.prompt.startsWith('{} is located in'))!;
    const res = await rome(rec);
    const safety = await assessSafety(model, { edit: res.edit, requests: [rec.requested_rewrite], keys: keysOf(res.details[0]), secondMoment: async () => C });
    const first = safety.checks.find((c) => c.name === 'subject-first-token')!;
    assert.deepEqual({ value: first.value, threshold: first.threshold, flagged: first.flagged, request: first.request }, { value: 0, threshold: SAFETY_THRESHOLDS.subjectPrefixTokens, flagged: false, request: 0 });
    assert.match(first.note, /first token .*reported, not flagged/);
    assert.equal(safety.flagged, false, JSON.stringify(safety, null, 1));
    const den = safety.checks.find((c) => c.name === 'update-denominator')!;
    assert.ok(den.value > SAFETY_THRESHOLDS.firstTokenDenominator, `D/d_mlp ${den.value}`);
    // The same position with a ‖ΔW‖ ratio past half its threshold is flagged (the other coinciding sign).
    const [withLargeUpdate] = subjectPositionChecks(model, [rec.requested_rewrite], true, { denominatorByRequest: new Map([[0, den.value]]), deltaNormRatio: 0.6 });
    assert.equal(withLargeUpdate.flagged, true);
    assert.match(withLargeUpdate.note, /‖ΔW‖\/‖W‖ 0\.600 > 0\.5/);
  });

  test('a real disabling edit with a first-token subject is flagged by its denominator and its position; the model is unchanged afterwards', async () => {
    // CounterFact 17674, "{}'s capital city is", Israel: the bare prompt's key nearly orthogonal to C⁻¹k*
    // (D/d_mlp 0.036, measured; the preset's full edit: ‖ΔW‖/‖W‖ 1.30, canary perplexity +40 %).
    const rec = records.find((r) => r.case_id === 17674)!;
    assert.equal(rec.requested_rewrite.subject, 'Israel');
    const res = await rome(rec);
    const w = `blocks.${layer}.mlp.W_out` as const;
    const beforeW = Float32Array.from(model.param(w).data);
    const safety = await assessSafety(model, { edit: res.edit, requests: [rec.requested_rewrite], keys: keysOf(res.details[0]), secondMoment: async () => C });
    assert.equal(safety.flagged, true);
    const den = safety.checks.find((c) => c.name === 'update-denominator')!;
    assert.ok(den.flagged && Math.abs(den.value - 0.0364) < 2e-3, `D/d_mlp ${den.value}`);
    const first = safety.checks.find((c) => c.name === 'subject-first-token')!;
    assert.deepEqual({ value: first.value, flagged: first.flagged, request: first.request }, { value: 0, flagged: true, request: 0 });
    assert.match(first.note, /D\/d_mlp 0\.036\d < 0\.2/);
    assert.deepEqual(model.param(w).data, beforeW, 'the canary measurement reverted its temporary edit');
    // The same position with prefix-averaged update keys (r-ROME's fix) is reported, not flagged.
    const consistent = await assessSafety(model, { edit: { ...res.edit, method: 'rrome' }, requests: [rec.requested_rewrite], keys: keysOf(res.details[0]), secondMoment: async () => C });
    const again = consistent.checks.find((c) => c.name === 'subject-first-token')!;
    assert.deepEqual([again.value, again.flagged], [0, false]);
  });

  test('a hand-made prompt key nearly orthogonal to C⁻¹k* (a disabling edit) is flagged by the denominator', async () => {
    const rec = records.find((r) => r.requested_rewrite.prompt === 'The mother tongue of {} is')!;
    const d = (await rome(rec)).details[0];
    // k = k_prompt minus 99.9 % of its component along C⁻¹k*: (C⁻¹k*)ᵀk shrinks 1000-fold (D = d|d|/d* a million-fold), the norm of k barely.
    const x = choleskySolve(choleskyFactorShared(C, C.length ** 0.5), d.kStar.length, d.kStar);
    const along = (0.999 * dot(x, d.kPrompt)) / dot(x, x);
    const kUsed = d.kPrompt.map((v, i) => v - along * x[i]);
    const [check] = await denominatorChecks(model, [{ layer, request: 0, k: kUsed, u: d.u }], async () => C);
    const exact = keyDenominatorBySolve(C, d.kStar, d.kPrompt);
    const expected = (exact.used / 1000) ** 2 / exact.consistent / model.config.d_mlp;
    assert.ok(Math.abs(check.value / expected - 1) < 1e-3, `${check.value} vs ${expected}`);
    assert.equal(check.flagged, true);
  });

  test('an update blown up 100× (what a tiny denominator does) is flagged by ‖ΔW‖/‖W‖ and the canary', async () => {
    const rec = records.find((r) => r.requested_rewrite.prompt === 'The mother tongue of {} is')!;
    const res = await rome(rec);
    const delta = res.edit.deltas[0];
    assert.equal(delta.kind, 'rank-one');
    const big: Edit = { ...res.edit, deltas: [{ ...delta, v: (delta as { v: Float32Array }).v.map((x) => 100 * x) }] };
    const safety = await assessSafety(model, { edit: big, requests: [rec.requested_rewrite] });
    const names = safety.checks.filter((c) => c.flagged).map((c) => c.name).sort();
    assert.deepEqual(names, ['canary-perplexity', 'delta-norm-ratio']);
    const canary = safety.checks.find((c) => c.name === 'canary-perplexity')!;
    assert.ok(canary.value > 1, `canary perplexity change ${canary.value} (${canary.note})`);
  });
});
