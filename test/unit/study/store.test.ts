import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { mergeRows, mergeStudies } from '../../../src/engine/methods/study/merge';
import { readResults, ResultWriter, RESULTS, writeJsonAtomic } from '../../../src/engine/methods/study/store';
import type { StudyManifest, StudyRow } from '../../../src/engine/methods/study/types';
import { shardCases } from '../../../src/engine/methods/study/types';
import { tempDir } from '../../helpers/paths';

const tmp = tempDir('locus-study-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const row = (caseId: number, layer: number, rewrite = 0.5, seconds = 1): StudyRow => ({
  caseId, method: 'ft', problem: 'error-injection', layer, editLayers: [layer], tracingEffect: 0.1 * layer, tracingEffectLastSubject: 0,
  metrics: { rewrite, paraphrase: null, neighborhood: 1, overall: rewrite }, pre: { targetNewLogprob: -5, targetTrueLogprob: -1 }, post: { targetNewLogprob: -1, targetTrueLogprob: -5 }, seconds,
});

const manifest = (cases: number[], fingerprint = 'abc', shard?: { i: number; n: number }): StudyManifest => ({
  kind: 'locus-study', format: 1, engineVersion: '0.1.0', started: '2026-01-01T00:00:00.000Z', ...(shard ? { shard } : {}),
  model: { name: 'm', path: '/m', architecture: 'gpt2', n_layers: 2, d_model: 4, n_heads: 1, d_vocab: 10, n_ctx: 8, parameters: 1, fingerprint, device: 'cpu' },
  spec: { cases, methods: ['ft'], problems: ['error-injection'], layers: [0, 1], dataset: '/d.json', seed: 0 },
});

function study(name: string, m: StudyManifest, rows: StudyRow[]): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  writeJsonAtomic(path.join(dir, 'manifest.json'), m);
  fs.writeFileSync(path.join(dir, RESULTS), rows.map((r) => JSON.stringify(r) + '\n').join(''));
  return dir;
}

test('a partial last line (a killed append) is ignored on read and cut off before the next append', () => {
  const dir = study('partial', manifest([1]), [row(1, 0)]);
  fs.appendFileSync(path.join(dir, RESULTS), JSON.stringify(row(1, 1)).slice(0, 30));
  assert.deepEqual(readResults(dir), [row(1, 0)]);
  const w = new ResultWriter(dir);
  w.append(row(1, 1));
  w.close();
  assert.deepEqual(readResults(dir), [row(1, 0), row(1, 1)]);
  assert.ok(fs.readFileSync(path.join(dir, RESULTS), 'utf8').endsWith('\n'));
});

test('a damaged complete line is an error naming the line', () => {
  const dir = study('damaged', manifest([1]), []);
  fs.writeFileSync(path.join(dir, RESULTS), 'not json\n');
  assert.throws(() => readResults(dir), /results\.jsonl:1/);
});

test('shards: index % n == i, disjoint and covering', () => {
  const cases = [10, 11, 12, 13, 14];
  assert.deepEqual(shardCases(cases, { i: 0, n: 2 }), [10, 12, 14]);
  assert.deepEqual(shardCases(cases, { i: 1, n: 2 }), [11, 13]);
  assert.deepEqual(shardCases(cases), cases);
});

test('mergeRows: identical duplicates (timing aside) are kept once; different numbers are an error', () => {
  assert.equal(mergeRows([{ dir: 'a', rows: [row(1, 0)] }, { dir: 'b', rows: [row(1, 0, 0.5, 9)] }]).length, 1);
  assert.throws(() => mergeRows([{ dir: 'a', rows: [row(1, 0)] }, { dir: 'b', rows: [row(1, 0, 0.6)] }]), /conflicting results for case 1, ft, error-injection, layer 0 in a and b/);
});

test('mergeStudies: shards merge into the unsharded order with one manifest; other models and existing results are refused', () => {
  const a = study('s0', manifest([3, 1, 2], 'abc', { i: 0, n: 2 }), [row(3, 0), row(3, 1), row(2, 0), row(2, 1)]);
  const b = study('s1', manifest([3, 1, 2], 'abc', { i: 1, n: 2 }), [row(1, 0), row(1, 1)]);
  const out = path.join(tmp, 'merged');
  const s = mergeStudies([b, a], out);
  assert.equal(s.rows, 6);
  assert.equal(s.duplicates, 0);
  assert.deepEqual(readResults(out).map((r) => [r.caseId, r.layer]), [[3, 0], [3, 1], [1, 0], [1, 1], [2, 0], [2, 1]]);
  const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as StudyManifest;
  assert.equal(m.shard, undefined);
  assert.deepEqual(m.spec.cases, [3, 1, 2]);
  assert.equal(m.mergedFrom?.length, 2);
  assert.throws(() => mergeStudies([a, b], out), /already holds results/);
  const c = study('other', manifest([1], 'xyz'), [row(1, 0)]);
  assert.throws(() => mergeStudies([a, c], path.join(tmp, 'm2')), /another model/);
});
