import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { golden, tempDir } from '../helpers/paths';

/**
 * The worker's `sequential/run` on the 4-layer golden model (FT-1, two requests, batches of 1): it runs
 * on the file's weights and leaves the user's applied edit exactly as it was (same stack, same
 * probabilities bit for bit); a folder holding another run is refused in one line; the same call again
 * resumes (nothing left to run, no batch recomputed).
 */
const req = (subject: string, news: string, truth: string) => ({ prompt: '{} is located in the city of', subject, target_new: { str: news }, target_true: { str: truth }, paraphrase_prompts: [`${subject} is in`], neighborhood_prompts: ['The Louvre is located in'] });

describe('worker sequential/run', () => {
  let worker: InMemoryWorker;
  let dir: string;
  before(async () => {
    dir = tempDir('locus-seq-worker-');
    worker = inMemoryWorker();
    await worker.send('model/load', { model: golden('gpt2-tiny-trained'), threads: 1 });
    fs.writeFileSync(path.join(dir, 'requests.json'), JSON.stringify([req('The Colosseum', 'Paris', 'Rome'), req('Big Ben', 'Berlin', 'London')]));
  });
  after(async () => {
    await worker?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('runs on the file weights; the applied edit is untouched; resuming a finished run recomputes nothing', async () => {
    await worker.send('edit/run', { method: 'ft', cases: [req('The Eiffel Tower', 'Rome', 'Paris')], cacheDir: path.join(dir, 'stats'), force: true });
    const stack = await worker.send('edit/list', {});
    const probe = await worker.send('probe/run', { prompt: 'The Eiffel Tower is located in the city of', k: 5 });
    const params = { dir: path.join(dir, 'run'), method: 'ft', requestsFile: path.join(dir, 'requests.json'), batchSize: 1, measureEvery: 1, heldOutTokens: 64, cacheDir: path.join(dir, 'stats') } as const;
    const r = await worker.send('sequential/run', params);
    assert.deepEqual([r.done, r.requests, r.resumed, r.points.length], [2, 2, 0, 3]);
    assert.deepEqual(await worker.send('edit/list', {}), stack);
    assert.deepEqual(await worker.send('probe/run', { prompt: 'The Eiffel Tower is located in the city of', k: 5 }), probe, 'the applied edit is bit for bit as before');
    // The unedited point is the file's weights: the same as a run's start point when no edit was applied at all.
    const again = await worker.send('sequential/run', { dir: params.dir });
    assert.deepEqual([again.done, again.resumed], [2, 2]);
    assert.equal(JSON.stringify(again.points), JSON.stringify(r.points));
    await assert.rejects(worker.send('sequential/run', { ...params, batchSize: 2 }), /holds another sequential run/);
  });
});
