import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import type { JobProgress } from '../../src/protocol/engine';
import { EngineError } from '../../src/extension/workerClient';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';

/** `locus lens --json` on the embedded model, parsed. */
async function cliLens(args: string[]): Promise<unknown> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['lens', '--model', 'default', '--threads', '1', '--json', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
  assert.equal(code, 0, err.join('\n'));
  return JSON.parse(out.join('\n'));
}

/**
 * The Logit Lens panel's worker method (`lens/run`) over the real JSON-RPC protocol (in-memory streams):
 * its answer is `locus lens --json`'s on the embedded model, exactly (both are the engine's logitLens;
 * JSON carries doubles exactly), with per-layer progress; no model and a bad K are one-line errors.
 */
describe('lens/run (worker, embedded model)', () => {
  let worker: InMemoryWorker;
  const prompt = 'Angola is located in';

  before(async () => {
    worker = inMemoryWorker();
  });
  after(async () => worker.dispose());

  test('no model loaded: a one-line error', async () => {
    await assert.rejects(worker.send('lens/run', { prompt }), (e: unknown) => e instanceof EngineError && /no model is loaded/.test(e.message) && !e.message.includes('\n'));
  });

  test('equals locus lens --json exactly (top 5 with the answer, top 3 without); progress counts the layers', async () => {
    const info = await worker.send('model/load', { model: 'default', threads: 1 });
    const progress: Array<{ done?: number; total?: number }> = [];
    const r = await worker.send('lens/run', { prompt, answer: 'Africa', top: 5 }, { onProgress: (p: JobProgress) => progress.push(p) });
    assert.deepEqual(r, await cliLens(['--prompt', prompt, '--answer', 'Africa', '--top', '5']));
    assert.equal(r.layers.length, info.n_layers);
    assert.equal(r.answer?.token, ' Africa');
    // The known fact: the last layer's top token at the last position is the answer (the e2e test asserts it in the UI).
    assert.equal(r.layers[info.n_layers - 1].positions[r.ids.length - 1].top[0].token, ' Africa');
    const counted = progress.filter((p) => p.total !== undefined);
    assert.deepEqual(counted.at(-1), { kind: 'report', message: 'decoding every layer', done: info.n_layers, total: info.n_layers });

    const plain = await worker.send('lens/run', { prompt, top: 3 });
    assert.deepEqual(plain, await cliLens(['--prompt', prompt, '--top', '3']));
    assert.equal(plain.answer, undefined);
  });

  test('bad input: an empty prompt, K out of range, an empty answer is no answer', async () => {
    await assert.rejects(worker.send('lens/run', { prompt: '' }), (e: unknown) => e instanceof EngineError && /the prompt is empty/.test(e.message));
    await assert.rejects(worker.send('lens/run', { prompt, top: 0 }), (e: unknown) => e instanceof EngineError && /top must be an integer in 1\.\.50/.test(e.message));
    await assert.rejects(worker.send('lens/run', { prompt, top: '5' as unknown as number }), (e: unknown) => e instanceof EngineError && /top must be an integer/.test(e.message));
    const r = await worker.send('lens/run', { prompt, answer: '', top: 1 });
    assert.equal(r.answer, undefined);
  });
});
