import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as path from 'node:path';
import { exportModel, forward, forwardContext, loadModel } from '../../src/engine/index';
import { adapterFor } from '../../src/engine/model/arch/index';
import type { LoadedModel } from '../../src/engine/index';
import { runCausalTrace } from '../../src/engine/methods/causalTrace/trace';
import { readConfig } from '../../src/engine/model/config';
import { externalizeWeights, WeightFeeder } from '../../src/engine/model/fedWeights';
import type { ParamName } from '../../src/engine/model/names';
import { loadWeights } from '../../src/engine/model/weights';
import { widenHalf } from '../../src/engine/model/safetensors';
import { GraphBuilder } from '../../src/engine/graph/builder';
import type { Tensor } from '../../src/engine/tensor/tensor';
import { maxAbsDiff } from '../helpers/assertClose';
import { golden, tempDir } from '../helpers/paths';

/**
 * Lean weights (issue 17): sessions fed from one copy of the weights, 16-bit checkpoints kept 16-bit.
 * The references are the goldens' float32 forwards of the stored (bf16/f16-rounded) weights
 * (../shared/golden/README.md), within the same 1e-4 as families.golden.test.ts; lean and baked loads
 * of the same folder must agree far closer (the same float32 weights, only ORT's packing differs).
 */
const ATOL = 1e-4;
const SAME = 1e-5;

interface GoldenPrompt {
  prompt: string;
  input_ids: number[];
  logits_last: number[];
}

async function lastLogits(model: LoadedModel, ids: number[]): Promise<Float32Array> {
  return (await forward(forwardContext(model), [ids])).logits!.data;
}

// mistral, qwen2, qwen3, gemma are stored in bfloat16, neox in float16, llama in float32.
for (const family of ['mistral', 'qwen2', 'qwen3', 'gemma', 'neox', 'llama']) {
  const name = `${family}-tiny-random`;
  const ref = JSON.parse(fs.readFileSync(golden(name, 'forward.json'), 'utf8')) as { prompts: GoldenPrompt[] };

  describe(`${name} loaded lean`, () => {
    let lean: LoadedModel;
    let baked: LoadedModel;
    before(async () => {
      lean = await loadModel(golden(name), { lean: true });
      baked = await loadModel(golden(name), { lean: false });
    });
    after(async () => {
      await lean.dispose();
      await baked.dispose();
    });

    test('keeps 16-bit tensors 16-bit exactly when the file stores them so', () => {
      const w = loadWeights(golden(name), readConfig(golden(name)), { lean: true });
      try {
        assert.equal(w.lean, true);
        assert.equal(w.half !== undefined, family !== 'llama');
        // Every 16-bit parameter, transformed in 16 bits (transposed, split per head), widens to exactly the float32 path's value.
        const half = w.half;
        for (const n of half ? w.params.names() : []) {
          if (!half!.isHalf(n)) continue;
          const h = half!.get(n);
          assert.deepEqual(h.shape, w.params.shape(n), n);
          assert.deepEqual(widenHalf(h.data, h.dtype), w.params.get(n).data, n);
        }
      } finally {
        w.store.close();
      }
    });

    test('logits equal the float32 forward of the stored weights, and the baked load', async (t) => {
      let worst = 0;
      let apart = 0;
      for (const p of ref.prompts) {
        const got = await lastLogits(lean, p.input_ids);
        const d = maxAbsDiff(got, p.logits_last);
        assert.ok(d <= ATOL, `"${p.prompt}": max |diff| ${d} vs the golden`);
        const e = maxAbsDiff(got, await lastLogits(baked, p.input_ids));
        assert.ok(e <= SAME, `"${p.prompt}": max |diff| ${e} vs the baked load`);
        worst = Math.max(worst, d);
        apart = Math.max(apart, e);
      }
      t.diagnostic(`max |diff| vs golden ${worst}, vs baked ${apart}`);
    });

    test('an edited weight reaches the lean sessions, and reverting restores the logits bit for bit', async () => {
      const ids = ref.prompts[0].input_ids;
      const before0 = await lastLogits(lean, ids);
      const target = 'blocks.1.mlp.W_out' as ParamName;
      const orig = lean.param(target);
      const edited: Tensor = { shape: [...orig.shape], data: orig.data.map((x, i) => x * (1 + ((i % 7) - 3) * 0.1)) };
      await lean.overrides.set(target, edited);
      await baked.overrides.set(target, { shape: [...edited.shape], data: edited.data.slice() });
      const leanEdited = await lastLogits(lean, ids);
      assert.ok(maxAbsDiff(leanEdited, before0) > 1e-4, 'the edit changes the logits');
      assert.ok(maxAbsDiff(leanEdited, await lastLogits(baked, ids)) <= SAME, 'lean and baked edits agree');
      await lean.overrides.clear(target);
      await baked.overrides.clear(target);
      assert.deepEqual(await lastLogits(lean, ids), before0);
    });
  });
}

describe('mistral-tiny-random (bfloat16) exported from a lean load', () => {
  test('the saved folder holds the current weights (an edit included) as float32, tensor for tensor', async () => {
    const src = await loadModel(golden('mistral-tiny-random'), { lean: true });
    const tmp = tempDir();
    try {
      const target = 'blocks.0.mlp.W_out' as ParamName;
      const orig = src.param(target);
      await src.overrides.set(target, { shape: [...orig.shape], data: orig.data.map((x) => x * 2) });
      exportModel(src, path.join(tmp, 'out'));
      const copy = await loadModel(path.join(tmp, 'out'), { lean: false });
      try {
        for (const n of adapterFor(src.config.modelType).paramNames(src.config)) assert.deepEqual(copy.param(n).data, src.param(n).data, n);
        assert.deepEqual(copy.param(target).data, orig.data.map((x) => x * 2));
      } finally {
        await copy.dispose();
      }
    } finally {
      await src.dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('neox-tiny-random (float16) causal trace, lean', () => {
  const ref = JSON.parse(fs.readFileSync(golden('neox-tiny-random', 'trace_space_needle.json'), 'utf8')) as {
    prompt: string; subject: string; samples: number; runs: Array<{ kind: 'mlp' | 'attn' | null; window: number | null; scores: number[][] }>;
  };
  let model: LoadedModel;
  before(async () => (model = await loadModel(golden('neox-tiny-random'), { lean: true })));
  after(async () => model.dispose());

  test('every hidden-state score of the golden trace', async (t) => {
    const run = ref.runs.find((r) => r.kind === null)!;
    const r = await runCausalTrace(model, { prompt: ref.prompt, subject: ref.subject, samples: ref.samples, window: 10, kinds: ['hidden'] });
    const d = maxAbsDiff(r.grids.hidden!.scores.flat(), run.scores.flat());
    t.diagnostic(`max |diff| hidden ${d}`);
    assert.ok(d <= ATOL, `max |diff| ${d}`);
  });
});

describe('fed weights', () => {
  test('only initializers that ARE the parameter read become inputs; a modified copy stays baked', () => {
    const w: Tensor = { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) };
    const copy: Tensor = { shape: [2, 2], data: w.data.slice() };
    const g = new GraphBuilder('t');
    const x = g.input('x', [1, 2]);
    g.output(g.node('MatMul', [g.node('MatMul', [x, g.weight('a', w)]), g.weight('b', copy)]), [1, 2]);
    const { spec, fed } = externalizeWeights(g.build(), new Map([['a', w], ['b', w]]));
    assert.deepEqual(fed, ['a']);
    assert.deepEqual(spec.initializers.map((i) => i.name), ['b']);
    assert.deepEqual(spec.inputs.map((i) => i.name), ['x', 'a']);
  });

  test('widened tensors are dropped least recently used first, their buffers reused, never those of a run in flight', () => {
    const widened: string[] = [];
    const feeder = new WeightFeeder(
      () => assert.fail('float32 parameters are not asked for'),
      {
        isHalf: () => true,
        widen: (n, into) => {
          widened.push(n);
          return { shape: [256], data: into ?? new Float32Array(256) }; // 1 KiB each
        },
        floatBytes: () => 1024,
      },
      2048,
    );
    const a = feeder.value('a' as ParamName);
    const b = feeder.value('b' as ParamName);
    assert.equal(feeder.value('a' as ParamName), a, 'a held copy is fed again, not widened again');
    const c = feeder.value('c' as ParamName); // drops b, the least recently used, and widens into its buffer
    assert.equal(c.data, b.data);
    feeder.value('a' as ParamName);
    feeder.value('b' as ParamName); // b again: widened again, dropping c
    assert.deepEqual(widened, ['a', 'b', 'c', 'b']);
    const run = feeder.feeds(['c', 'd']).acquire(); // c drops a; d must not drop c (pinned): drops b
    assert.deepEqual(Object.keys(run.values), ['c', 'd']);
    assert.notEqual(run.values['c'].data, run.values['d'].data);
    const other = feeder.feeds(['e']).acquire(); // both held tensors are pinned: over budget rather than reuse one
    assert.notEqual(other.values['e'].data, run.values['c'].data);
    assert.notEqual(other.values['e'].data, run.values['d'].data);
    run.release();
    other.release();
    assert.deepEqual(widened, ['a', 'b', 'c', 'b', 'c', 'd', 'e']);
  });
});

/**
 * Mapped float32 weights with and without ORT's prepacking: `locus trace` maps models between 256 MiB
 * and 1 GiB (GPT-2 small, medium) prepacked, bigger ones map without it (weights.ts MAPPED_PREPACK_BYTES).
 * Both must give the baked model's logits (GPT-2's fused c_attn columns and Llama's plain matrices).
 */
describe('mapped weights, prepacked or not', () => {
  for (const name of ['gpt2-tiny-trained', 'llama-tiny-random']) {
    test(`${name}: prepacked and unpacked mapped loads equal the baked one`, async () => {
      const ref = JSON.parse(fs.readFileSync(golden(name, 'forward.json'), 'utf8')) as { prompts: GoldenPrompt[] };
      const ids = ref.prompts[0].input_ids;
      const baked = await loadModel(golden(name), { lean: false });
      const packed = await loadModel(golden(name), { lean: true, prepack: true });
      const unpacked = await loadModel(golden(name), { lean: true, prepack: false });
      try {
        const want = await lastLogits(baked, ids);
        assert.ok(maxAbsDiff(await lastLogits(packed, ids), want) <= SAME, 'prepacked');
        assert.ok(maxAbsDiff(await lastLogits(unpacked, ids), want) <= SAME, 'unpacked');
        assert.ok(maxAbsDiff(want, Float32Array.from(ref.prompts[0].logits_last)) <= ATOL, 'the golden');
      } finally {
        await Promise.all([baked.dispose(), packed.dispose(), unpacked.dispose()]);
      }
      for (const prepack of [true, false]) {
        const w = loadWeights(golden(name), readConfig(golden(name)), { lean: true, prepack });
        try {
          assert.equal(w.mapped?.prepack, prepack, 'the mapped weights carry the choice to the sessions');
        } finally {
          w.store.close();
        }
      }
    });
  }
});
