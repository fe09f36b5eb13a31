import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import type { EngineError } from '../../src/extension/workerClient';
import { ENGINE_ERROR_CODES, ENGINE_METHODS } from '../../src/protocol/engine';
import type { EngineErrorData, EngineMethod, EngineParams, EngineResult, JobProgress } from '../../src/protocol/engine';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { golden, tempDir } from '../helpers/paths';

/** serve() over an in-memory stream pair: the worker's handlers without a process. */
describe('worker protocol over in-memory streams', () => {
  let worker: InMemoryWorker;
  let shutdowns = 0;
  const prompt = 'The Space Needle is located in the city of';
  const subject = 'The Space Needle';
  const send = <M extends EngineMethod>(m: M, p: EngineParams<M>, onProgress?: (p: JobProgress) => void, token?: CancellationTokenSource): Promise<EngineResult<M>> =>
    worker.send(m, p, { onProgress, token: token?.token });

  before(() => {
    worker = inMemoryWorker({ onShutdown: () => shutdowns++ });
  });
  after(async () => {
    await worker.dispose();
  });

  test('before model/load: model/info is null and probe/run is a bad-input error', async () => {
    assert.equal(await send('model/info', {}), null);
    await assert.rejects(send('probe/run', { prompt }), (e: EngineError) => e.code === 'bad-input' && /model\/load/.test(e.message));
  });

  test('model/load answers the model info', async () => {
    const info = await send('model/load', { model: golden('gpt2-tiny-trained'), threads: 1 });
    assert.equal(info.name, 'gpt2-tiny-trained');
    assert.equal(info.architecture, 'gpt2');
    assert.equal(info.n_layers, 4);
    assert.equal(info.d_model, 64);
    assert.ok(Array.isArray(info.warnings));
    assert.deepEqual(await send('model/info', {}), info);
  });

  test('probe/run: " Sydney" is the top token', async () => {
    const r = await send('probe/run', { prompt, k: 5 });
    assert.equal(r.top.length, 5);
    assert.equal(r.top[0].token, ' Sydney');
    assert.equal(r.tokens.length, r.ids.length);
  });

  test('trace/run: a number[][] grid, and $/progress begin, reports counting up to the total, end', async () => {
    const seen: JobProgress[] = [];
    const r = await send('trace/run', { prompt, subject, samples: 3, kinds: ['hidden'], maxRows: 3 }, (p) => seen.push(p));
    const grid = r.grids.hidden!;
    assert.ok(Array.isArray(grid.scores) && grid.scores.every((row) => Array.isArray(row) && row.length === 4));
    assert.equal(grid.scores.length, r.tokens.length);
    assert.equal(seen[0].kind, 'begin');
    assert.equal(seen[seen.length - 1].kind, 'end');
    const done = seen.filter((p) => p.kind === 'report').map((p) => p.done!);
    assert.ok(done.length > 2, `several reports (${done.length})`);
    for (let i = 1; i < done.length; i++) assert.ok(done[i] > done[i - 1], `done increases: ${done.join(',')}`);
    assert.equal(done[done.length - 1], r.cells);
    assert.ok(seen.filter((p) => p.kind === 'report').every((p) => p.total === r.cells));
  });

  test('cancelling a running trace answers "cancelled" and the next request works', async () => {
    const source = new CancellationTokenSource();
    const seen: JobProgress[] = [];
    const onProgress = (p: JobProgress): void => {
      seen.push(p);
      if (p.kind === 'report' && p.done! > 0) source.cancel();
    };
    const traced = send('trace/run', { prompt, subject, samples: 3, kinds: ['hidden', 'mlp', 'attn'], maxRows: 3 }, onProgress, source);
    await assert.rejects(traced, (e: EngineError) => e.code === 'cancelled');
    const reports = seen.filter((p) => p.kind === 'report');
    assert.ok(reports[reports.length - 1].done! < reports[0].total!, 'stopped before the last cell');
    assert.equal(seen[seen.length - 1].kind, 'end');
    assert.equal((await send('probe/run', { prompt, k: 1 })).top[0].token, ' Sydney');
  });

  test('concurrent requests run one at a time, in order; a queued request cancelled never starts', async () => {
    const log: string[] = [];
    const tag = (name: string) => (p: JobProgress) => log.push(`${name}:${p.kind}`);
    const cancelQueued = new CancellationTokenSource();
    const first = send('trace/run', { prompt, subject, samples: 3, kinds: ['hidden'], maxRows: 3 }, tag('trace'));
    const second = send('probe/run', { prompt, k: 1 }, tag('probe'));
    const dropped = send('probe/run', { prompt, k: 1 }, tag('dropped'), cancelQueued);
    const third = send('model/info', {}, tag('info'));
    cancelQueued.cancel();
    await assert.rejects(dropped.finally(() => log.push('dropped:rejected')), (e: EngineError) => e.code === 'cancelled');
    await Promise.all([first, second, third]);
    const at = (s: string): number => log.indexOf(s);
    assert.ok(at('trace:begin') >= 0 && at('trace:end') > at('trace:begin'));
    assert.ok(at('probe:begin') > at('trace:end'), log.join(' '));
    assert.ok(at('info:begin') > at('probe:end'), log.join(' '));
    assert.ok(at('dropped:rejected') < at('trace:end'), `the cancelled request did not wait: ${log.join(' ')}`);
    assert.equal(at('dropped:begin'), -1);
  });

  test('model/cached is answered while a trace runs, not after it (it reads only the file system)', async () => {
    const log: string[] = [];
    const traced = send('trace/run', { prompt, subject, samples: 3, kinds: ['hidden', 'mlp'], maxRows: 3 }, (p) => log.push(`trace:${p.kind}`));
    const empty = tempDir();
    try {
      const listed = await send('model/cached', { cacheDir: empty }).finally(() => log.push('cached:answered'));
      assert.deepEqual(listed.models, []);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    await traced;
    assert.ok(log.indexOf('cached:answered') < log.indexOf('trace:end'), log.join(' '));
  });

  test('a LocusError comes back as a ResponseError with data.code', async () => {
    const bad = { prompt: 'The Eiffel Tower is in', subject: 'The Space Needle', samples: 3, kinds: ['hidden'] };
    await assert.rejects(worker.client.sendRequest('trace/run', bad), (e: ResponseError<EngineErrorData>) => {
      assert.ok(e instanceof ResponseError);
      assert.equal(e.code, ENGINE_ERROR_CODES.failed);
      assert.equal(e.data?.code, 'bad-input');
      assert.match(e.message, /does not contain the subject/);
      return true;
    });
    await assert.rejects(send('edit/revert', { id: 'e99' }), (e: EngineError) => e.code === 'not-found');
  });

  test('edit/run keeps the edit, edit/list shows it, edit/revert restores the exact distribution', async () => {
    const clean = await send('probe/run', { prompt, k: 3 });
    const cases = [{ prompt: '{} is located in the city of', subject, target_new: { str: 'Rome' }, target_true: { str: 'Seattle' } }];
    const stages: string[] = [];
    const r = await send('edit/run', { method: 'ft', layer: 1, cases }, (p) => p.message && stages.push(p.message));
    assert.match(r.id, /^e\d+$/);
    assert.ok(r.post.targetNewLogprob > r.pre.targetNewLogprob, 'the edit raised log p(Rome)');
    assert.ok(stages.length > 0);
    assert.deepEqual((await send('edit/list', {})).edits.map((e) => e.id), [r.id]);
    const edited = await send('probe/run', { prompt, k: 3 });
    assert.notDeepEqual(edited.top, clean.top);
    const dir = path.join(tempDir(), 'edited');
    try {
      const exported = await send('edit/export', { dir });
      assert.deepEqual(exported, { dir, edits: [r.id] });
      assert.ok(fs.existsSync(path.join(dir, 'model.safetensors')) && fs.existsSync(path.join(dir, 'config.json')));
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
    assert.deepEqual((await send('edit/revert', { id: r.id })).edits, []);
    assert.deepEqual(await send('probe/run', { prompt, k: 3 }), clean);
  });

  test('dataset/load summarizes the bundled CounterFact sample; edit/run takes its caseIds', async () => {
    const ds = await send('dataset/load', {});
    assert.equal(ds.count, ds.records.length);
    assert.ok(ds.count > 1000);
    const r0 = ds.records[0];
    assert.deepEqual(Object.keys(r0).sort(), ['case_id', 'prompt', 'relation_id', 'subject', 'target_new', 'target_true']);
    assert.ok(r0.prompt.includes('{}'));
    await assert.rejects(send('edit/run', { method: 'ft', caseIds: [-1] }), (e: EngineError) => e.code === 'bad-input' && /case_id -1/.test(e.message));
    await assert.rejects(send('edit/run', { method: 'ft' }), (e: EngineError) => e.code === 'bad-input' && /exactly one of cases or caseIds/.test(e.message));
  });

  test('a second edit is computed and kept on top of the first: reverting the first still changes the model', async () => {
    const clean = await send('probe/run', { prompt, k: 3 });
    const edit = (target: string) =>
      send('edit/run', { method: 'ft', layer: 1, cases: [{ prompt: '{} is located in the city of', subject, target_new: { str: target }, target_true: { str: 'Seattle' } }] });
    const a = await edit('Rome');
    const b = await edit('Paris');
    assert.deepEqual(b.stack.edits.map((e) => e.id), [a.id, b.id]);
    const both = await send('probe/run', { prompt, k: 3 });
    // Had computing B dropped A from the shared parameter, removing A would change nothing.
    await send('edit/revert', { id: a.id });
    assert.notDeepEqual(await send('probe/run', { prompt, k: 3 }), both);
    assert.deepEqual((await send('edit/revertAll', {})).edits, []);
    assert.deepEqual(await send('probe/run', { prompt, k: 3 }), clean);
  });

  test('model/load of a folder that is not a model is refused, and the loaded model keeps its edits', async () => {
    const kept = await send('edit/run', { method: 'ft', layer: 1, cases: [{ prompt: '{} is located in the city of', subject, target_new: { str: 'Rome' }, target_true: { str: 'Seattle' } }] });
    const info = await send('model/info', {});
    const edited = await send('probe/run', { prompt, k: 3 });
    const empty = tempDir('locus-not-a-model-');
    try {
      await assert.rejects(send('model/load', { model: empty, threads: 1 }), (e: EngineError) => e.code !== undefined && /config\.json/.test(e.message));
      fs.writeFileSync(path.join(empty, 'config.json'), JSON.stringify({ model_type: 'bert' }));
      await assert.rejects(send('model/load', { model: empty, threads: 1 }), (e: EngineError) => /bert/.test(e.message));
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
    assert.deepEqual(await send('model/info', {}), info);
    assert.deepEqual((await send('edit/list', {})).edits.map((e) => e.id), [kept.id]);
    assert.deepEqual(await send('probe/run', { prompt, k: 3 }), edited);
    await send('edit/revertAll', {});
  });

  test('edit/run with details: per-prompt views agree with the pre/post log-probs; generations are seeded', async () => {
    const cases = [
      {
        prompt: '{} is located in the city of',
        subject,
        target_new: { str: 'Rome' },
        target_true: { str: 'Seattle' },
        paraphrase_prompts: ['Where is The Space Needle? It is in the city of'],
        neighborhood_prompts: ['The Eiffel Tower is located in the city of'],
      },
    ];
    const r = await send('edit/run', { method: 'ft', layer: 1, cases, details: true });
    try {
      const d = r.details!;
      assert.deepEqual(d.predictions.map((p) => p.kind), ['rewrite', 'paraphrase', 'neighborhood']);
      const rw = d.predictions[0];
      assert.equal(rw.prompt, 'The Space Needle is located in the city of');
      // Same teacher-forced numbers as the edit's own measurement, to float32 rounding.
      assert.ok(Math.abs(Math.log(rw.before.pNew) - r.pre.targetNewLogprob) < 1e-4, `${Math.log(rw.before.pNew)} vs ${r.pre.targetNewLogprob}`);
      assert.ok(Math.abs(Math.log(rw.after.pNew) - r.post.targetNewLogprob) < 1e-4);
      assert.ok(Math.abs(Math.log(rw.before.pTrue) - r.pre.targetTrueLogprob) < 1e-4);
      assert.equal(rw.before.top, ' Sydney'); // the golden model's known top-1 for this prompt
      assert.ok(rw.before.topProb > 0 && rw.before.topProb <= 1);
      assert.equal(d.generation.prompt, rw.prompt);
      // The "before" generation is the unedited model's: the same seed on the clean model reproduces it.
      await send('edit/revert', { id: r.id });
      const again = await send('generate/run', { prompt: rw.prompt, maxNewTokens: 20, topK: 5, seed: 0 });
      assert.equal(again.text, d.generation.before);
      assert.ok(again.tokens.length > 0 && again.tokens.length <= 20);
    } finally {
      await send('edit/revertAll', {});
    }
    await assert.rejects(send('generate/run', { prompt: '' }), (e: EngineError) => e.code === 'bad-input');
  });

  test('every protocol method has a handler; worker/shutdown answers null and calls onShutdown', async () => {
    for (const m of ENGINE_METHODS.filter((m) => m !== 'worker/shutdown')) {
      // Wrong params on purpose: a handler must answer with an engine error, never "method not found".
      const e = await worker.client.sendRequest(m, { bogus: true }).then(() => undefined, (x: ResponseError<EngineErrorData>) => x);
      if (e) assert.notEqual(e.code, -32601, `${m} is not handled`);
    }
    assert.equal(await send('worker/shutdown', {}), null);
    await new Promise((r) => setImmediate(r));
    assert.equal(shutdowns, 1);
  });
});
