import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildObjectiveGraph, OBJECTIVE_INPUT } from '../../src/engine/autodiff/objective';
import { gradName } from '../../src/engine/autodiff/backward';
import { causalMask } from '../../src/engine/graph/attention';
import { encodeModel } from '../../src/engine/graph/proto';
import { evaluateGraph } from '../../src/engine/graph/reference/evaluate';
import { hookInput, INPUT } from '../../src/engine/graph/segments';
import { forward, forwardContext, loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { RuntimeSession } from '../../src/engine/runtime/ort';
import { golden } from '../helpers/paths';

/**
 * The NLL of a CounterFact-style target as a function of a delta at blocks.1.mlp.out and of
 * blocks.1.mlp.W_out (ROME's and fine-tuning's objectives), on the trained golden GPT-2: the
 * gradients from the emitted backward graph (ORT, float32) against central differences of the same
 * graph evaluated in float64. No golden gradient file exists yet, so finite differences are the oracle.
 * Tolerance: |analytic − numeric| ≤ 2e-3 · max(1, max|numeric|).
 */
describe('objective gradients on gpt2-facts-trained', () => {
  let model: LoadedModel;
  before(async () => (model = await loadModel(golden('gpt2-facts-trained'))));
  after(async () => model.dispose());

  test('d NLL(" Rome") / d delta at blocks.1.mlp.out and / d blocks.1.mlp.W_out', async () => {
    const { config: cfg } = model;
    const prompt = model.tokenizer.encode('The Eiffel Tower is located in the city of').ids;
    const target = model.tokenizer.encode(' Rome').ids;
    const ids = [...prompt, ...target.slice(0, -1)];
    const T = ids.length;
    const resid = (await forward(forwardContext(model), [ids], { fetch: ['blocks.0.resid_pre'], logits: 'none' })).acts.get('blocks.0.resid_pre')!;
    const graph = buildObjectiveGraph(cfg, model.param, { fromLayer: 0, deltas: [{ layer: 1, site: 'mlp.out' }], trainable: ['blocks.1.mlp.W_out'] });
    const inject = hookInput(1, 'mlp.out', 'inject');
    const D = cfg.d_model;
    const delta = new Float32Array(T * D);
    for (let i = 0; i < D; i++) delta[(prompt.length - 4) * D + i] = 0.05 * Math.sin(i); // a small delta at a subject token
    const feeds = {
      [OBJECTIVE_INPUT.resid]: resid,
      [OBJECTIVE_INPUT.rows]: { shape: [target.length], ids: BigInt64Array.from(target.map((_, k) => BigInt(prompt.length - 1 + k))) },
      [OBJECTIVE_INPUT.targets]: { shape: [target.length], ids: BigInt64Array.from(target, BigInt) },
      [OBJECTIVE_INPUT.weights]: { shape: [target.length], data: new Float32Array(target.length).fill(1) },
      [INPUT.mask]: { shape: [T, T], data: causalMask(T) },
      [hookInput(1, 'attn.out', 'keep')]: { shape: [1, T, 1], data: new Float32Array(T).fill(1) },
      [hookInput(1, 'attn.out', 'inject')]: { shape: [1, T, D], data: new Float32Array(T * D) },
      [hookInput(1, 'mlp.out', 'keep')]: { shape: [1, T, 1], data: new Float32Array(T).fill(1) },
      [inject]: { shape: [1, T, D], data: delta },
      'blocks.1.mlp.W_out': model.param('blocks.1.mlp.W_out'),
    };
    const session = await RuntimeSession.create('objective', encodeModel(graph.spec, 20), { threads: 1 });
    const out = await session.run(feeds, graph.outputs);
    await session.release();
    // The model knows Paris: " Rome" is improbable, so the loss is large and the gradient is informative.
    assert.ok(out['loss'].data[0] > 3, `loss ${out['loss'].data[0]}`);

    const refFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, 'ids' in v ? { shape: v.shape, ints: v.ids } : v]));
    const lossAt = (name: string, data: Float64Array): number => {
      const v = evaluateGraph(graph.spec, { ...refFeeds, [name]: { shape: feeds[name as keyof typeof feeds].shape, data } }, ['loss']).loss;
      return 'data' in v ? v.data[0] : NaN;
    };
    const h = 1e-4;
    for (const [name, indices] of [
      [inject, Array.from({ length: 12 }, (_, k) => (prompt.length - 4) * D + k * 5)],
      ['blocks.1.mlp.W_out', Array.from({ length: 12 }, (_, k) => k * 1361)],
    ] as const) {
      const base = Float64Array.from((feeds[name as keyof typeof feeds] as { data: Float32Array }).data);
      let worst = 0;
      let scale = 0;
      for (const i of indices) {
        const plus = base.slice();
        plus[i] += h;
        const minus = base.slice();
        minus[i] -= h;
        const numeric = (lossAt(name, plus) - lossAt(name, minus)) / (2 * h);
        scale = Math.max(scale, Math.abs(numeric));
        worst = Math.max(worst, Math.abs(out[gradName(name)].data[i] - numeric));
      }
      assert.ok(scale > 1e-3, `${name}: gradient is not trivially zero (max ${scale})`);
      assert.ok(worst <= 2e-3 * Math.max(1, scale), `${name}: worst |analytic − numeric| ${worst} (max |numeric| ${scale})`);
    }
  });
});
