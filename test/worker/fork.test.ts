import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { EngineError, WorkerCrash, WorkerRestart } from '../../src/extension/workerClient';
import { WorkerClient } from '../../src/extension/workerClient';
import { golden, repoRoot } from '../helpers/paths';

/** The one smoke test with a real process: dist/worker.js (built by `npm test`'s pretest, or `node esbuild.js worker`). */
test('a forked worker killed with SIGKILL is reported, restarted, and its model reloaded', async () => {
  const workerPath = path.join(repoRoot, 'dist', 'worker.js');
  assert.ok(fs.existsSync(workerPath), `${workerPath} is missing: run "node esbuild.js worker"`);
  const client = new WorkerClient({ workerPath, maxCrashes: 1 });
  const crashes: WorkerCrash[] = [];
  client.onDidCrash((c) => crashes.push(c));
  const restarted = new Promise<WorkerRestart>((resolve) => client.onDidRestart(resolve));
  try {
    const prompt = 'The Space Needle is located in the city of';
    const info = await client.request('model/load', { model: golden('gpt2-tiny-trained'), threads: 1 });
    assert.equal(info.n_layers, 4);
    const before = await client.request('probe/run', { prompt, k: 5 });
    assert.equal(before.top[0].token, ' Sydney');
    const firstPid = client.pid!;
    assert.ok(firstPid > 0);

    // Kill the worker while it is running a job: that request must fail with the reason and the recovery.
    const inFlight = client.request('trace/run', { prompt, subject: 'The Space Needle', samples: 3, maxRows: 3 }, {
      onProgress: (p) => {
        if (p.kind === 'report') process.kill(firstPid, 'SIGKILL');
      },
    });
    await assert.rejects(inFlight, (e: EngineError) => {
      assert.equal(e.code, 'worker-stopped');
      assert.equal(e.message, 'the Locus worker stopped (signal SIGKILL); it was restarted and the model reloaded');
      return true;
    });
    assert.equal(crashes.length, 1);
    assert.equal(crashes[0].signal, 'SIGKILL');
    assert.equal(crashes[0].restarting, true);
    assert.match(crashes[0].message, /stopped \(signal SIGKILL\); restarting it and reloading the model/);
    const restart = await restarted;
    assert.equal(restart.model?.fingerprint, info.fingerprint);

    assert.notEqual(client.pid, firstPid);
    assert.deepEqual(await client.request('model/info', {}), info);
    const after = await client.request('probe/run', { prompt, k: 5 });
    assert.deepEqual(after, before, 'the same model answers the same');
  } finally {
    const pid = client.pid;
    await client.shutdown();
    if (pid !== undefined) assert.throws(() => process.kill(pid, 0), 'the worker exited after shutdown');
  }
  await assert.rejects(client.request('model/info', {}), (e: EngineError) => e.code === 'worker-stopped');
});
