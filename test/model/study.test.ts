import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { defaultDatasetPath, loadCounterFact, loadModel, readResults, runStudy } from '../../src/engine/index';
import type { LoadedModel, StudyRow, StudySpec } from '../../src/engine/index';
import { tempDir } from '../helpers/paths';

/** A row without its timing, numbers to 9 digits (the runs agree exactly on one machine; this only guards against thread-order round-off). */
const strip = (rows: readonly StudyRow[]): unknown[] =>
  rows.map((r) => JSON.parse(JSON.stringify({ ...r, seconds: 0 }, (_k, v) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v))));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('locus study on the embedded model (2 cases × layers 0, 1 × ft)', () => {
  let model: LoadedModel;
  let tmp: string;
  let spec: StudySpec;
  let reference: StudyRow[];
  before(async () => {
    tmp = tempDir('locus-study-model-');
    model = await loadModel('default');
    const dataset = defaultDatasetPath();
    spec = { cases: loadCounterFact(dataset).slice(0, 2).map((r) => r.case_id), methods: ['ft'], problems: ['error-injection'], layers: [0, 1], dataset, seed: 0 };
  });
  after(async () => {
    await model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('an uninterrupted run writes one row per case × layer with the tracing effect at that layer', async () => {
    const dir = path.join(tmp, 'full');
    const s = await runStudy(model, spec, { outDir: dir, cacheDir: path.join(tmp, 'stats') });
    assert.deepEqual([s.total, s.ran, s.resumed, s.cancelled], [4, 4, 0, false]);
    reference = readResults(dir);
    assert.deepEqual(reference.map((r) => [r.caseId, r.layer]), [[spec.cases[0], 0], [spec.cases[0], 1], [spec.cases[1], 0], [spec.cases[1], 1]]);
    for (const r of reference) {
      assert.ok(r.tracingEffect >= 0 && r.tracingEffect <= 1, `tracing effect ${r.tracingEffect}`);
      assert.deepEqual(r.editLayers, [r.layer]);
      for (const k of ['rewrite', 'neighborhood', 'overall'] as const) assert.equal(typeof r.metrics[k], 'number', k);
    }
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.equal(m.model.fingerprint, model.manifest.fingerprint);
    assert.deepEqual(m.spec, spec);
  });

  test('aborting after the first result, then resuming, gives the uninterrupted results', async () => {
    const dir = path.join(tmp, 'killed');
    const ctl = new AbortController();
    const first = await runStudy(model, spec, { outDir: dir, signal: ctl.signal, cacheDir: path.join(tmp, 'stats'), onProgress: (p) => p.done >= 1 && ctl.abort() });
    assert.equal(first.cancelled, true);
    assert.equal(readResults(dir).length, 1);
    fs.appendFileSync(path.join(dir, 'results.jsonl'), '{"caseId": 1, "meth'); // a kill mid-append
    const second = await runStudy(model, spec, { outDir: dir, cacheDir: path.join(tmp, 'stats') });
    assert.deepEqual([second.resumed, second.ran, second.cancelled], [1, 3, false]);
    assert.deepEqual(strip(readResults(dir)), strip(reference));
  });

  test('two shards merged equal the unsharded run; analyze and a resumed CLI run read the merge', async () => {
    const dirs = [0, 1].map((i) => path.join(tmp, `shard${i}`));
    for (let i = 0; i < 2; i++) await runStudy(model, spec, { outDir: dirs[i], shard: { i, n: 2 }, cacheDir: path.join(tmp, 'stats') });
    assert.deepEqual(readResults(dirs[1]).map((r) => r.caseId), [spec.cases[1], spec.cases[1]]);
    const merged = path.join(tmp, 'merged');
    const m = await cli(['study', 'merge', ...dirs, '--out', merged]);
    assert.equal(m.code, 0, m.err);
    assert.deepEqual(strip(readResults(merged)), strip(reference));
    const a = await cli(['study', 'analyze', merged, '--json']);
    assert.equal(a.code, 0, a.err);
    const j = JSON.parse(a.out);
    assert.deepEqual(j.rows.map((r: { metric: string }) => r.metric), ['rewrite', 'paraphrase', 'neighborhood', 'overall']);
    for (const r of j.rows) {
      assert.deepEqual([r.method, r.problem, r.n], ['ft', 'error-injection', 4]);
      for (const k of ['r2Layer', 'r2LayerTracing', 'r2Gain']) assert.ok(k in r, k);
    }
    assert.deepEqual(j.perLayer.map((p: { layer: number; n: number }) => [p.layer, p.n]), [[0, 2], [1, 2]]);
    const text = await cli(['study', 'analyze', merged]);
    assert.match(text.out, /ft +error-injection +rewrite +4 /);
    assert.match(text.out, /per layer/);
    // Everything is already there: the CLI run resumes all 4 edits and runs none.
    const r = await cli(['study', 'run', '--cases', spec.cases.join(','), '--methods', 'ft', '--layers', '0,1', '--out', merged, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([JSON.parse(r.out).resumed, JSON.parse(r.out).ran], [4, 0]);
    const bad = await cli(['study', 'merge', dirs[0], path.join(tmp, 'killed'), '--out', path.join(tmp, 'm3')]);
    assert.equal(bad.code, 0, 'identical duplicates merge');
  });

  test('four shards merged equal the unsharded run (4 cases × layer 0 × ft)', async () => {
    const spec4 = { ...spec, cases: loadCounterFact(spec.dataset).slice(0, 4).map((r) => r.case_id), layers: [0] };
    const whole = path.join(tmp, 'whole4');
    await runStudy(model, spec4, { outDir: whole, cacheDir: path.join(tmp, 'stats') });
    const dirs = [0, 1, 2, 3].map((i) => path.join(tmp, `shard4-${i}`));
    for (let i = 0; i < 4; i++) await runStudy(model, spec4, { outDir: dirs[i], shard: { i, n: 4 }, cacheDir: path.join(tmp, 'stats') });
    dirs.forEach((d, i) => assert.deepEqual(readResults(d).map((r) => r.caseId), [spec4.cases[i]], `shard ${i} holds case ${i}`));
    const merged = path.join(tmp, 'merged4');
    const m = await cli(['study', 'merge', ...dirs, '--out', merged]);
    assert.equal(m.code, 0, m.err);
    assert.deepEqual(strip(readResults(merged)), strip(readResults(whole)));
  });
});
