import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadModel, runCausalTrace } from '../../src/engine/index';
import { WorkerState } from '../../src/worker/state';
import { golden } from '../helpers/paths';

const request = { prompt: 'The Space Needle is located in the city of', subject: 'The Space Needle', samples: 3, kinds: ['hidden', 'mlp'] as const };

/**
 * The worker creates a loaded model's trace sessions in the background (WorkerState.setModel): a
 * second load while that runs stops it before the first model is disposed, and a trace on the prepared
 * model gives the same grid, bit for bit, as on a model that prepared nothing.
 */
test('background trace sessions: a load during preparation is safe, and the prepared model traces bit-identically', async () => {
  const state = new WorkerState();
  try {
    await state.setModel(await loadModel(golden('gpt2-tiny-trained'), { threads: 1 }));
    // Replace it at once, while its preparation is still creating sessions.
    await state.setModel(await loadModel(golden('gpt2-tiny-trained'), { threads: 1 }));
    await state.prepared();
    const prepared = await runCausalTrace(state.requireModel(), { ...request, kinds: [...request.kinds] });
    const fresh = await loadModel(golden('gpt2-tiny-trained'), { threads: 1 });
    try {
      const cold = await runCausalTrace(fresh, { ...request, kinds: [...request.kinds] });
      assert.deepEqual(prepared.grids, cold.grids);
      assert.equal(prepared.highScore, cold.highScore);
    } finally {
      await fresh.dispose();
    }
  } finally {
    await state.dispose();
  }
});
