/**
 * `cost/estimate` over in-memory streams (issue 19 item 5) on the embedded model, and the Study panel's
 * localization through the worker (`study/run` with localization patching runs and analyses).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readManifest, readResults } from '../../src/engine/index';
import type { EngineMethod, EngineParams, EngineResult } from '../../src/protocol/engine';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { tempDir } from '../helpers/paths';

describe('worker cost/estimate and study localization (embedded model)', () => {
  let worker: InMemoryWorker;
  let tmp: string;
  let savedXdg: string | undefined;
  const send = <M extends EngineMethod>(m: M, p: EngineParams<M>): Promise<EngineResult<M>> => worker.send(m, p, {});
  const prompt = 'The Space Needle is located in the city of';
  const subject = 'The Space Needle';

  before(async () => {
    tmp = tempDir('locus-worker-cost-');
    // The cost file is user-level: point it at this test's folder.
    savedXdg = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = tmp;
    worker = inMemoryWorker();
    await send('model/load', { model: 'default' });
  });
  after(async () => {
    await worker.dispose();
    if (savedXdg === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedXdg;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('trace: the counted cells are the cells trace/run then runs; nothing measured yet calibrates, a finished trace/run is measured', async () => {
    const est = await send('cost/estimate', { what: 'trace', prompt, subject, kinds: ['mlp'], samples: 2 });
    assert.equal(est.basis, 'calibrated');
    assert.match(est.note, /calibration run/);
    assert.ok(est.seconds > 0);
    const r = await send('trace/run', { prompt, subject, kinds: ['mlp'], samples: 2 });
    assert.equal(est.work['cells'], r.cells);
    assert.equal(est.work['runs'], r.cells * 2);
    assert.match(est.text, new RegExp(`= ${r.cells} cells × 2 samples = ${r.cells * 2} runs`));
    // trace/run recorded its cost: the next estimate is measured, and priced from it.
    const warm = await send('cost/estimate', { what: 'trace', prompt, subject, kinds: ['mlp'], samples: 2 });
    assert.equal(warm.basis, 'measured');
    assert.ok(Math.abs(warm.seconds - r.seconds) <= 1e-9 * r.seconds + 1e-12, `${warm.seconds} vs ${r.seconds}`);
  });

  test('sweep: methods × layers edits', async () => {
    const needle = { prompt: '{} is located in the city of', subject, target_new: { str: 'Rome' }, target_true: { str: 'Seattle' } };
    const est = await send('cost/estimate', { what: 'sweep', case: needle, methods: ['ft', 'rome'], layers: [0, 1, 2] });
    assert.equal(est.work.kind, 'sweep');
    assert.equal(est.work['edits'], 6);
  });

  test('study with localization patching: estimated, run, analysed; the resumed estimate counts the done edit off and is measured', async () => {
    const dir = path.join(tmp, 'study');
    const study = { dir, cases: '20952', methods: ['ft' as const], layers: [0], localization: 'patching' as const };
    const est = await send('cost/estimate', { what: 'study', ...study });
    assert.deepEqual([est.work['units'], est.work['done'], (est.work['edits'] as Record<string, number>)['ft'], est.work['traces'], est.work['localization']], [1, 0, 1, 1, 'patching']);
    const r = await send('study/run', study);
    assert.equal(r.added, 1);
    assert.equal(readManifest(dir)?.localization, 'patching');
    assert.equal(readResults(dir).length, 1);
    const a = await send('study/analyze', { dir });
    assert.equal(a.points.length, 1);
    assert.ok(Number.isFinite(a.points[0].tracingEffect));
    const again = await send('cost/estimate', { what: 'study', ...study, layers: [0, 1] });
    assert.deepEqual([again.work['units'], again.work['done'], (again.work['edits'] as Record<string, number>)['ft']], [2, 1, 1]);
    // The run recorded ft's edit and the patching runs: nothing left to calibrate.
    assert.equal(again.basis, 'measured');
    // Resuming the folder with the other localization is another study.
    await assert.rejects(send('study/run', { ...study, localization: 'noise' }), /localization/);
  });

  test('bad input: an unknown what is one clear error', async () => {
    await assert.rejects(send('cost/estimate', { what: 'nope' } as never), /what must be trace, sweep or study/);
  });
});
