import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { cachedModelItems, describeCachedModel } from '../../../src/extension/cachedModelItems';
import { formatBytes, formatCount } from '../../../src/protocol/units';
import type { CachedModelDto } from '../../../src/protocol/dto';

const llama: CachedModelDto = { repoId: 'meta-llama/Llama-3.2-1B', path: '/c/models--meta-llama--Llama-3.2-1B/snapshots/4e20de362430cd3b72f300e6b0f18e50e7166e08', revision: '4e20de362430cd3b72f300e6b0f18e50e7166e08', modelType: 'llama', familySupported: true, parameters: 1_235_814_400, dtype: 'BF16', sizeBytes: 2_471_645_608 };
const bert: CachedModelDto = { repoId: 'google-bert/bert-base-uncased', path: '/c/b', modelType: 'bert', familySupported: false, parameters: 109_482_240, dtype: 'F32', sizeBytes: 440_473_133, problem: { code: 'unsupported-architecture', reason: 'model_type "bert" is not supported (Locus opens gpt2, gptj)' } };
const pickle: CachedModelDto = { repoId: 'org/old', path: '/c/o', modelType: 'gpt2', familySupported: true, sizeBytes: 1000, problem: { code: 'unsupported-format', reason: 'pickle weights only (pytorch_model.bin)' } };

test('numbers read as people write them', () => {
  assert.equal(formatCount(1_235_814_400), '1.24B');
  assert.equal(formatCount(3_482_048), '3.5M');
  assert.equal(formatCount(12_345), '12.3K');
  assert.equal(formatCount(12), '12');
  assert.equal(formatBytes(2_471_645_608), '2.3 GiB');
  assert.equal(formatBytes(15_318_566), '14.6 MiB');
  assert.equal(formatBytes(0), '0 B');
});

test('the description shows family, parameters, dtype and size before loading', () => {
  assert.equal(describeCachedModel(llama), 'llama · 1.24B params · BF16 · 2.3 GiB');
  assert.equal(describeCachedModel(pickle), 'gpt2 · 1000 B');
  assert.equal(describeCachedModel({ repoId: 'x/y', familySupported: false, sizeBytes: 0 }), 'unknown family · 0 B');
});

test('openable models first; the others under a heading, each with its reason', () => {
  const items = cachedModelItems([bert, llama, pickle]);
  assert.deepEqual(
    items.map((i) => [i.label, i.separator ?? false, i.detail]),
    [
      ['meta-llama/Llama-3.2-1B', false, 'revision 4e20de362430'],
      ['cannot be opened', true, undefined],
      ['$(circle-slash) google-bert/bert-base-uncased', false, 'model_type "bert" is not supported (Locus opens gpt2, gptj)'],
      ['$(circle-slash) org/old', false, 'pickle weights only (pytorch_model.bin)'],
    ],
  );
  assert.equal(items[0].model, llama);
  assert.deepEqual(cachedModelItems([llama]).map((i) => i.label), ['meta-llama/Llama-3.2-1B'], 'no heading when every model opens');
  assert.deepEqual(cachedModelItems([]), []);
});
