import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EngineError } from '../../src/extension/workerClient';
import type { FactCaseDto } from '../../src/protocol/dto';
import type { EngineMethod, EngineParams, EngineResult } from '../../src/protocol/engine';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { golden, tempDir } from '../helpers/paths';

/**
 * The worker side of `locus.statsDir` / `locus.statsCacheDir` (the extension puts them in requests,
 * src/extension/settings.ts): an edit with `statsDir` reads ROME's golden statistics file and says so;
 * a missing folder is one 'not-found' line naming the setting.
 */
describe('worker edit/run with statsDir', () => {
  let worker: InMemoryWorker;
  let tmp: string;
  const send = <M extends EngineMethod>(m: M, p: EngineParams<M>): Promise<EngineResult<M>> => worker.send(m, p);
  const ref = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'rome_eiffel.json'), 'utf8')) as { request: { request: FactCaseDto }; hparams: Record<string, unknown>; context_templates: string[]; post: Array<{ target_new: { sum_logprob: number } }> };
  before(async () => {
    tmp = tempDir('locus-worker-stats-');
    worker = inMemoryWorker();
    await send('model/load', { model: golden('gpt2-facts-trained'), threads: 1 });
  });
  after(async () => {
    await worker.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the golden ROME edit from the published file; the notes name it; nothing is cached', async () => {
    const cacheDir = path.join(tmp, 'cache');
    const r = await send('edit/run', { method: 'rome', cases: [ref.request.request], hparams: ref.hparams, contextTemplates: ref.context_templates, statsDir: golden('gpt2-facts-trained', 'rome_stats'), cacheDir });
    assert.ok(r.notes.some((n) => n.includes('transformer.h.1.mlp.c_proj_float32_mom2_100000.npz')), r.notes.join('\n'));
    assert.ok(Math.abs(r.post.targetNewLogprob - ref.post[0].target_new.sum_logprob) <= 1e-3, `post ${r.post.targetNewLogprob}`);
    assert.ok(!fs.existsSync(cacheDir) || fs.readdirSync(cacheDir).length === 0);
    await send('edit/revertAll', {});
  });

  test('a statsDir that does not exist is one line naming locus.statsDir', async () => {
    await assert.rejects(send('edit/run', { method: 'rome', cases: [ref.request.request], statsDir: path.join(tmp, 'absent') }), (e: EngineError) => {
      assert.match(e.message, /^locus\.statsDir folder .*absent does not exist/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  });
});
