/**
 * The float64 reference evaluator on the engine's real graphs (GPT-2 and GPT-J blocks, embedding,
 * unembedding with the golden tiny models' weights) against the ORT sessions the engine runs.
 * This is what proves it handles our graphs as built: Reshape with 0 dims, the attention Transposes,
 * Softmax over an additive mask, rotary MatMuls, hook inputs, Gather, Gemm(transB).
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../../src/engine/index';
import type { LoadedModel, Tensor } from '../../../src/engine/index';
import { causalMask, rotaryTables } from '../../../src/engine/graph/attention';
import { evaluateGraph, isFloat } from '../../../src/engine/graph/reference/evaluate';
import type { RefFeed } from '../../../src/engine/graph/reference/evaluate';
import { blockActivations, hookInput, HOOK_SITES, INPUT } from '../../../src/engine/graph/segments';
import type { SegmentKey } from '../../../src/engine/model/sessions';
import type { Feed } from '../../../src/engine/runtime/ort';
import { golden } from '../../helpers/paths';
import { rng } from './referenceHarness';

/** Tolerance of the comparison: ORT is float32, the reference float64; |diff| ≤ ATOL·max(1, |ref|). */
const ATOL = 1e-4;

function gaussian(shape: number[], seed: number, scale = 1): Tensor {
  const next = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = scale * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return { shape, data };
}

const filled = (shape: number[], v: number): Tensor => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v) });

/** Feeds for block `l` of `model`, batch B × pos; hooks (full variant) as given or keep = 1, inject = 0. */
function blockFeeds(model: LoadedModel, l: number, B: number, pos: number, full: boolean, randomHooks = false): Record<string, Tensor> {
  const cfg = model.config;
  const feeds: Record<string, Tensor> = {
    [`blocks.${l}.resid_pre`]: gaussian([B, pos, cfg.d_model], 10 + l),
    [INPUT.mask]: { shape: [pos, pos], data: causalMask(pos) },
  };
  if (cfg.modelType === 'gptj') {
    const { cos, sin } = rotaryTables(pos, cfg.d_head, cfg.rotaryDim);
    feeds[INPUT.cos] = { shape: [pos, 1, cfg.d_head], data: cos };
    feeds[INPUT.sin] = { shape: [pos, 1, cfg.d_head], data: sin };
  }
  if (full) {
    HOOK_SITES.forEach((site, k) => {
      feeds[hookInput(l, site, 'keep')] = randomHooks ? gaussian([B, pos, 1], 20 + k) : filled([B, pos, 1], 1);
      feeds[hookInput(l, site, 'inject')] = randomHooks ? gaussian([B, pos, cfg.d_model], 30 + k, 0.5) : filled([B, pos, cfg.d_model], 0);
    });
  }
  return feeds;
}

/** Runs segment `key` through ORT and the reference and compares every requested output. */
async function compareSegment(model: LoadedModel, key: SegmentKey, ortFeeds: Record<string, Feed>, refFeeds: Record<string, RefFeed>, fetch: string[]): Promise<void> {
  const want = await (await model.sessions.get(key)).run(ortFeeds, fetch);
  const got = evaluateGraph(model.sessions.graph(key), refFeeds, fetch);
  for (const name of fetch) {
    const r = got[name];
    assert.ok(isFloat(r), `${key} ${name}: float output`);
    assert.deepEqual([...r.shape], want[name].shape, `${key} ${name}: shape`);
    let worst = 0;
    for (let i = 0; i < r.data.length; i++) worst = Math.max(worst, Math.abs(r.data[i] - want[name].data[i]) / Math.max(1, Math.abs(r.data[i])));
    assert.ok(worst <= ATOL, `${key} ${name}: max relative-ish |diff| ${worst} > ${ATOL}`);
  }
}

for (const name of ['gpt2-tiny-trained', 'gptj-tiny-random']) {
  describe(`reference evaluator on ${name} graphs matches ORT`, () => {
    let model: LoadedModel;
    before(async () => {
      model = await loadModel(golden(name), { threads: 1 });
    });
    after(async () => {
      await model.dispose();
    });

    test('block 0, kv variant (keep = 1, inject = 0): every activation', async () => {
      const feeds = blockFeeds(model, 0, 2, 5, true);
      await compareSegment(model, 'block.0.kv', feeds, feeds, blockActivations(model.config, 0));
    });

    test('block 1, kv variant with random keep and inject', async () => {
      const feeds = blockFeeds(model, 1, 2, 4, true, true);
      await compareSegment(model, 'block.1.kv', feeds, feeds, blockActivations(model.config, 1));
    });

    test('last block, lean variant, one row of 7 positions', async () => {
      const l = model.config.n_layers - 1;
      const feeds = blockFeeds(model, l, 1, 7, false);
      await compareSegment(model, `block.${l}.lean`, feeds, feeds, [`blocks.${l}.resid_post`]);
    });

    test('embedding (Gather) and unembedding (Gemm) segments', async () => {
      const ids = BigInt64Array.from([50256, 464, 3290, 0, 11, 13], BigInt);
      const positions = BigInt64Array.from([0, 1, 2, 0, 1, 2], BigInt);
      const ortFeeds: Record<string, Feed> = { [INPUT.ids]: { shape: [2, 3], ids } };
      const refFeeds: Record<string, RefFeed> = { [INPUT.ids]: { shape: [2, 3], ints: ids } };
      const fetch = ['embed'];
      if (model.config.modelType === 'gpt2') {
        ortFeeds[INPUT.positions] = { shape: [2, 3], ids: positions };
        refFeeds[INPUT.positions] = { shape: [2, 3], ints: positions };
        fetch.push('pos_embed');
      }
      await compareSegment(model, 'embed', ortFeeds, refFeeds, fetch);
      const x = gaussian([3, model.config.d_model], 7);
      const pick = BigInt64Array.from([13, 0, 464], BigInt);
      await compareSegment(model, 'unembed', { 'final.in': x, [INPUT.pick]: { shape: [3], ids: pick } }, { 'final.in': x, [INPUT.pick]: { shape: [3], ints: pick } }, ['ln_final.out', 'logits', 'picked']);
    });
  });
}
