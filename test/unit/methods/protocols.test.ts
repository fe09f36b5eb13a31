import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { generationScores, metricsByProtocol, romeProbability, tokenAccuracyScores } from '../../../src/engine/methods/problems/protocols';
import type { ProbeRows, PromptProbe } from '../../../src/engine/methods/problems/protocols';
import { argmaxAgreement, tokenAccuracy } from '../../../src/engine/methods/problems/tokenAccuracy';
import { saysTarget } from '../../../src/engine/methods/problems/generationCheck';

/** A prompt's probe with the fields a test sets; target ids [7, 8], target_true ids [5]. */
const row = (o: Partial<PromptProbe>): PromptProbe => ({ target: 0, truth: 0, targetMean: 0, truthMean: 0, targetIds: [7, 8], targetArgmax: [7, 8], truthIds: [5], truthArgmax: [5], continuation: '', ...o });
const rows = (rewrite: PromptProbe, paraphrases: PromptProbe[], neighbors: PromptProbe[]): ProbeRows => ({ rewrite, paraphrases, neighbors });
const inject = { target: ' Paris', erase: false };

test('token accuracy counts the target tokens that are the argmax, position by position', () => {
  assert.equal(tokenAccuracy({ targetIds: [7, 8, 9], argmaxIds: [7, 1, 9] }), 2 / 3);
  assert.equal(tokenAccuracy({ targetIds: [7, 8, 9], argmaxIds: [8, 9, 7] }), 0); // right tokens, wrong places
  assert.ok(Number.isNaN(tokenAccuracy({ targetIds: [], argmaxIds: [] })));
  assert.equal(argmaxAgreement([1, 2, 3, 4], [1, 0, 3, 0]), 0.5);
});

test('token-accuracy protocol: rewrite / paraphrase on the target, neighborhood = argmax kept from before; erasure flips', () => {
  const pre = rows(row({}), [row({})], [row({ truthArgmax: [5] }), row({ truthArgmax: [6] })]);
  const post = rows(row({ targetArgmax: [7, 1] }), [row({ targetArgmax: [1, 1] }), row({})], [row({ truthArgmax: [5] }), row({ truthArgmax: [5] })]);
  const m = tokenAccuracyScores(pre, post, inject);
  assert.deepEqual([m.rewrite, m.paraphrase, m.neighborhood], [0.5, 0.5, 0.5]);
  assert.equal(m.overall, 0.5);
  assert.equal(m.protocol, 'token-accuracy');
  const e = tokenAccuracyScores(pre, post, { ...inject, erase: true });
  assert.deepEqual([e.rewrite, e.paraphrase], [0.5, 0.5]);
  const one = tokenAccuracyScores(pre, rows(row({ targetArgmax: [7, 9] }), [], []), inject);
  assert.equal(one.rewrite, 0.5);
  assert.ok(Number.isNaN(one.paraphrase));
  assert.equal(one.overall, 0.5);
});

test('rome-probability: new beats true per prompt (mean log-prob), neighborhood the reverse; NaN when the target is target_true', () => {
  const post = rows(row({ targetMean: -1, truthMean: -2 }), [row({ targetMean: -3, truthMean: -2 }), row({ targetMean: -1, truthMean: -1.5 })], [row({ targetMean: -1, truthMean: -0.5 }), row({ targetMean: -1, truthMean: -1 })]);
  const m = romeProbability(post, inject);
  assert.deepEqual([m.rewrite, m.paraphrase, m.neighborhood], [1, 0.5, 0.5]); // a tie is no success either way
  assert.ok(Math.abs(m.overall - 2 / 3) < 1e-15);
  const erase = romeProbability(post, { ...inject, erase: true });
  assert.deepEqual([erase.rewrite, erase.paraphrase, erase.neighborhood], [0, 0.5, 0.5]);
  const same = romeProbability(rows(row({ targetIds: [5] }), [], []), inject);
  assert.ok(Number.isNaN(same.rewrite) && Number.isNaN(same.overall));
});

test('generation: the target in the continuation; neighborhood: said exactly when it was before; not measured → NaN', () => {
  assert.equal(saysTarget(' the city of Paris, France', ' Paris'), true);
  assert.equal(saysTarget(' paris', ' Paris'), false);
  const pre = rows(row({ continuation: ' London' }), [], [row({ continuation: ' Paris is' }), row({ continuation: ' Rome' })]);
  const post = rows(row({ continuation: ' the city of Paris' }), [row({ continuation: ' Lyon' }), row({ continuation: ' Paris' })], [row({ continuation: ' Paris!' }), row({ continuation: ' Paris' })]);
  const m = generationScores(pre, post, inject);
  assert.deepEqual([m.rewrite, m.paraphrase, m.neighborhood, m.extraTokens], [1, 0.5, 0.5, 5]);
  const e = generationScores(pre, post, { ...inject, erase: true });
  assert.deepEqual([e.rewrite, e.paraphrase], [0, 0.5]);
  const forcing = generationScores(pre, rows(row({ continuation: undefined }), [], []), inject);
  assert.ok(Number.isNaN(forcing.rewrite) && Number.isNaN(forcing.overall));
});

test('metricsByProtocol tags each protocol and passes the paper scores through unchanged', () => {
  const hase = { rewrite: 0.25, paraphrase: 0.5, neighborhood: 0.75, overall: 0.5 };
  const p = rows(row({}), [], []);
  const by = metricsByProtocol(p, p, inject, hase);
  assert.deepEqual(by['hase-normalized'], { ...hase, protocol: 'hase-normalized' });
  assert.deepEqual(Object.entries(by).map(([k, v]) => [k, v.protocol]), [['hase-normalized', 'hase-normalized'], ['rome-probability', 'rome-probability'], ['token-accuracy', 'token-accuracy'], ['generation', 'generation']]);
});
