import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { runCausalTrace } from '../../src/engine/methods/causalTrace/trace';
import type { TraceKind } from '../../src/engine/methods/causalTrace/types';
import { golden } from '../helpers/paths';

/**
 * Window cells that join at the same block share their rows until their restores differ
 * (causalTrace/sweep.ts). With maxRows = samples every cell runs alone (nothing shared), which is
 * ROME's one-run-per-cell semantics; the shared sweep must give the same scores. Tolerance 1e-6:
 * only the rows sharing a batch differ (measured: grids bit-identical to the sweep before sharing, ORT 1.30).
 */
describe('causal trace: shared window prefixes', () => {
  let model: LoadedModel;
  before(async () => (model = await loadModel(golden('gpt2-facts-trained'))));
  after(async () => model.dispose());
  const request = { prompt: 'The Eiffel Tower is located in the city of', subject: 'The Eiffel Tower', kinds: ['hidden', 'mlp', 'attn'] as TraceKind[], samples: 3 };

  for (const window of [3, 10]) {
    test(`window ${window}: the shared sweep equals one run per cell`, async () => {
      const shared = await runCausalTrace(model, { ...request, window });
      const alone = await runCausalTrace(model, { ...request, window }, { maxRows: request.samples });
      let worst = 0;
      for (const kind of request.kinds) {
        const a = shared.grids[kind]!.scores.flat();
        const b = alone.grids[kind]!.scores.flat();
        assert.equal(a.length, b.length);
        a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]))));
      }
      assert.ok(worst <= 1e-6, `max |diff| ${worst}`);
    });
  }
});
