import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { analyzeStudy, readResults } from '../../src/engine/index';
import type { EngineError } from '../../src/extension/workerClient';
import type { EngineMethod, EngineParams, EngineResult, JobProgress } from '../../src/protocol/engine';
import { etaText } from '../../src/worker/handlers/study';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { golden, tempDir } from '../helpers/paths';

/** `sweep/run`, `study/run`, `study/analyze` over in-memory streams on the 4-layer golden model. */
describe('worker study methods', () => {
  let worker: InMemoryWorker;
  let tmp: string;
  const prompt = 'The Space Needle is located in the city of';
  const subject = 'The Space Needle';
  const needle = {
    prompt: '{} is located in the city of', subject, target_new: { str: 'Rome' }, target_true: { str: 'Seattle' },
    paraphrase_prompts: ['Where is The Space Needle? It is in the city of'], neighborhood_prompts: ['The Eiffel Tower is located in the city of'],
  };
  const send = <M extends EngineMethod>(m: M, p: EngineParams<M>, onProgress?: (p: JobProgress) => void, token?: CancellationTokenSource): Promise<EngineResult<M>> =>
    worker.send(m, p, { onProgress, token: token?.token });
  /** The full next-token distribution's top 50, as numbers to compare. */
  const distribution = async (): Promise<Map<number, number>> => new Map((await send('probe/run', { prompt, k: 50 })).top.map((t) => [t.id, t.prob]));

  before(async () => {
    tmp = tempDir('locus-worker-study-');
    worker = inMemoryWorker();
    await send('model/load', { model: golden('gpt2-tiny-trained'), threads: 1 });
  });
  after(async () => {
    await worker.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('sweep/run: one point per method × layer, finite scores, and the kept edit is exactly as before', async () => {
    // A kept FT edit on layer 1: the sweep's own edits at layer 1 touch the same parameter.
    const kept = await send('edit/run', { method: 'ft', layer: 1, cases: [{ ...needle, target_new: { str: 'Paris' } }] });
    const before = await distribution();
    const seen: JobProgress[] = [];
    // FT and FT-5 (a ROME edit costs ~10 s on this model; the engine's own tests cover it).
    const r = await send('sweep/run', { case: needle, methods: ['ft', 'ft5'], layers: [0, 1], cacheDir: path.join(tmp, 'stats') }, (p) => seen.push(p));
    assert.deepEqual(r.points.map((p) => [p.method, p.layer]), [['ft', 0], ['ft', 1], ['ft5', 0], ['ft5', 1]]);
    for (const p of r.points) {
      if (p.method === 'ft') assert.deepEqual(p.editLayers, [p.layer]);
      else assert.ok(p.editLayers.length > 1 && p.editLayers.includes(p.layer), `ft5 window ${p.editLayers.join(',')}`);
      for (const k of ['rewrite', 'paraphrase', 'neighborhood', 'overall'] as const) assert.ok(Number.isFinite(p.metrics[k]), `${p.method}@${p.layer} ${k} = ${p.metrics[k]}`);
    }
    assert.equal(r.tracingEffect.length, 4);
    assert.ok(r.tracingEffect.every(Number.isFinite), `tracing effect ${r.tracingEffect.join(', ')}`);
    assert.equal(r.subject, subject);
    assert.equal(r.problem, 'error-injection');
    const counts = seen.filter((p) => p.kind === 'report' && p.total !== undefined).map((p) => `${p.done}/${p.total}`);
    assert.equal(counts[0], '0/4');
    assert.equal(counts[counts.length - 1], '4/4');

    assert.deepEqual((await send('edit/list', {})).edits.map((e) => e.id), [kept.id]);
    const afterwards = await distribution();
    for (const [id, p] of before) assert.ok(Math.abs(afterwards.get(id)! - p) <= 1e-6, `token ${id}: ${p} → ${afterwards.get(id)}`);
  });

  test('sweep/run: cancelled after the first edit, the model is unchanged', async () => {
    const before = await distribution();
    const source = new CancellationTokenSource();
    const swept = send('sweep/run', { case: needle, methods: ['ft'], layers: [0, 1, 2, 3], cacheDir: path.join(tmp, 'stats') }, (p) => p.done === 1 && source.cancel(), source);
    await assert.rejects(swept, (e: EngineError) => e.code === 'cancelled');
    const afterwards = await distribution();
    for (const [id, p] of before) assert.ok(Math.abs(afterwards.get(id)! - p) <= 1e-6, `token ${id}: ${p} → ${afterwards.get(id)}`);
  });

  test('study/run: cancelled, resumed to the end, then a third run adds nothing; the kept edit survives', async () => {
    const dir = path.join(tmp, 'study');
    const params = { dir, cases: '20952,3648', methods: ['ft'], layers: [0, 1], cacheDir: path.join(tmp, 'stats') } as const;
    const stackBefore = (await send('edit/list', {})).edits.map((e) => e.id);
    const before = await distribution();

    const source = new CancellationTokenSource();
    const first = send('study/run', params, (p) => p.kind === 'report' && (p.done ?? 0) >= 1 && source.cancel(), source);
    await assert.rejects(first, (e: EngineError) => e.code === 'cancelled' && /run the study again to resume/.test(e.message));
    const partial = readResults(dir).length;
    assert.ok(partial >= 1 && partial < 4, `${partial} rows after the cancel`);

    const messages: string[] = [];
    const second = await send('study/run', params, (p) => p.message && messages.push(p.message));
    assert.deepEqual([second.rows, second.added, second.total, second.dir], [4, 4 - partial, 4, dir]);
    assert.ok(messages.some((m) => /^\d\/4 edits · [\d.]+ edits\/h · ETA \d+ (s|min) · case \d+/.test(m)), messages.join('\n'));
    assert.deepEqual(readResults(dir).map((r) => [r.caseId, r.layer]), [[20952, 0], [20952, 1], [3648, 0], [3648, 1]]);

    const third = await send('study/run', params);
    assert.deepEqual([third.rows, third.added, third.total], [4, 0, 4]);
    await assert.rejects(send('study/run', { ...params, layers: [0, 2] }), (e: EngineError) => e.code === 'bad-input' && /holds another study \(its layers differ\)/.test(e.message));

    assert.deepEqual((await send('edit/list', {})).edits.map((e) => e.id), stackBefore);
    const afterwards = await distribution();
    for (const [id, p] of before) assert.ok(Math.abs(afterwards.get(id)! - p) <= 1e-6, `token ${id}: ${p} → ${afterwards.get(id)}`);
  });

  test('study/analyze: the regression rows of analyzeStudy, and one scatter point per result', async () => {
    const dir = path.join(tmp, 'study');
    const a = await send('study/analyze', { dir });
    // NaN (an undefined R²) travels as null in JSON.
    const expected = JSON.parse(JSON.stringify(analyzeStudy(dir)));
    assert.equal(a.dir, dir);
    assert.deepEqual(a.rows.map((r) => r.metric), ['rewrite', 'paraphrase', 'neighborhood', 'overall']);
    assert.deepEqual(a.rows, expected.rows);
    assert.deepEqual(a.perLayer, expected.perLayer);
    assert.ok(a.rows.some((r) => Number.isFinite(r.r2Layer)), 'some R² is defined');
    const results = readResults(dir);
    assert.deepEqual(a.points.map((p) => [p.caseId, p.layer, p.tracingEffect, p.rewrite]), results.map((r) => [r.caseId, r.layer, r.tracingEffect, r.metrics.rewrite]));
    assert.equal((a.manifest as { kind: string }).kind, 'locus-study');
    await assert.rejects(send('study/analyze', { dir: path.join(tmp, 'nothing') }), (e: EngineError) => e.code === 'not-found');
  });

  test('etaText: seconds, minutes, hours; nothing before the first timing', () => {
    assert.deepEqual([etaText(12.2), etaText(600), etaText(9000), etaText(NaN)], ['ETA 13 s', 'ETA 10 min', 'ETA 2.5 h', '']);
  });
});
