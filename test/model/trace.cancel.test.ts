import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { runCausalTrace } from '../../src/engine/methods/causalTrace/trace';
import { golden } from '../helpers/paths';

describe('causal trace progress and cancellation', () => {
  let model: LoadedModel;
  before(async () => (model = await loadModel(golden('gpt2-facts-trained'))));
  after(async () => model.dispose());
  const request = { prompt: 'The Eiffel Tower is located in the city of', subject: 'The Eiffel Tower', kinds: ['hidden', 'mlp'] as const, samples: 4 };

  test('progress counts every cell once, ending at the total', async () => {
    const seen: Array<[number, number]> = [];
    const r = await runCausalTrace(model, { ...request, kinds: [...request.kinds] }, { onProgress: (p) => seen.push([p.done, p.total]), maxRows: 16 });
    assert.deepEqual(seen[0], [0, r.cells]);
    assert.deepEqual(seen[seen.length - 1], [r.cells, r.cells]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] > seen[i - 1][0]);
    assert.equal(r.cells, 2 * 11 * 6); // 2 kinds × 11 tokens from the subject's first token × 6 layers
  });

  test('cancelling stops within one batch and leaves the engine usable', async () => {
    const ctl = new AbortController();
    let doneAtAbort = -1;
    let lastDone = -1;
    await assert.rejects(
      runCausalTrace(model, { ...request, kinds: [...request.kinds] }, {
        signal: ctl.signal,
        maxRows: 16,
        onProgress: (p) => {
          lastDone = p.done;
          if (p.done > 0 && doneAtAbort < 0) {
            doneAtAbort = p.done;
            ctl.abort();
          }
        },
      }),
      (e: Error) => e.name === 'LocusError' && /cancelled/.test(e.message),
    );
    assert.equal(lastDone, doneAtAbort, 'no batch completed after the abort');
    const again = await runCausalTrace(model, { ...request, kinds: ['hidden'] });
    assert.equal(again.answer.token, ' Paris');
    assert.ok(Math.abs(again.highScore - 0.9985175728797913) < 1e-4, `clean p(Paris) ${again.highScore} (golden clean_prob)`);
  });
});
