import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNoise, withSettings } from '../../../src/extension/settings';

const settings = { hparams: { rome: { v_num_grad_steps: 25, kl_factor: 0.1 } }, statsCorpus: '/data/corpus.txt', traceNoise: '0.2' };

test('edit requests take the per-method defaults under the form, and the statistics corpus', () => {
  const p = withSettings('edit/run', { method: 'rome', caseIds: [1], hparams: { kl_factor: 0.5 } }, settings);
  assert.deepEqual(p.hparams, { v_num_grad_steps: 25, kl_factor: 0.5 });
  assert.equal(p.statsCorpus, '/data/corpus.txt');
  const ft = withSettings('edit/run', { method: 'ft', caseIds: [1] }, { ...settings, statsCorpus: '  ' });
  assert.equal(ft.hparams, undefined);
  assert.equal(ft.statsCorpus, undefined);
});

test('trace noise comes from the setting only when the request has none', () => {
  assert.equal(withSettings('trace/run', { prompt: 'a b', subject: 'a' }, settings).noise, 0.2);
  assert.equal(withSettings('trace/run', { prompt: 'a b', subject: 'a', noise: 's3' }, settings).noise, 's3');
  assert.equal(parseNoise('s3'), 's3');
  assert.equal(parseNoise('s2.5'), 's2.5');
  assert.equal(parseNoise('0.1'), 0.1);
  assert.equal(parseNoise('-1'), undefined);
  assert.equal(parseNoise('three'), undefined);
});
