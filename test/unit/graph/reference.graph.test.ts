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
import { blockFeeds as engineBlockFeeds } from '../../../src/engine/graph/feeds';
import { evaluateGraph, isFloat } from '../../../src/engine/graph/reference/evaluate';
import type { RefFeed } from '../../../src/engine/graph/reference/evaluate';
import { blockActivations, hookInput, HOOK_SITES, INPUT, PAST_REPEAT, pastInput } from '../../../src/engine/graph/segments';
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
    // The hooked variant's past keys/values: none (length 0), tiled over the batch by repeatFeed.
    for (const which of ['k', 'v'] as const) feeds[pastInput(l, which)] = { shape: [1, cfg.n_kv_heads, 0, cfg.d_head], data: new Float32Array(0) };
    HOOK_SITES.forEach((site, k) => {
      feeds[hookInput(l, site, 'keep')] = randomHooks ? gaussian([B, pos, 1], 20 + k) : filled([B, pos, 1], 1);
      feeds[hookInput(l, site, 'inject')] = randomHooks ? gaussian([B, pos, cfg.d_model], 30 + k, 0.5) : filled([B, pos, cfg.d_model], 0);
    });
  }
  return feeds;
}

/** The hooked variant's `past.repeat` feed ([B, 1, 1, 1]) for ORT and for the reference. */
function repeatFeed(B: number): { ort: Record<string, Feed>; ref: Record<string, RefFeed> } {
  const ids = BigInt64Array.from([B, 1, 1, 1], BigInt);
  return { ort: { [PAST_REPEAT]: { shape: [4], ids } }, ref: { [PAST_REPEAT]: { shape: [4], ints: ids } } };
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

    test('block 0, hooked variant (keep = 1, inject = 0, no past): every activation', async () => {
      const feeds = blockFeeds(model, 0, 2, 5, true);
      await compareSegment(model, 'block.0.hooked', { ...feeds, ...repeatFeed(2).ort }, { ...feeds, ...repeatFeed(2).ref }, blockActivations(model.config, 0));
    });

    test('block 1, hooked variant with random keep and inject', async () => {
      const feeds = blockFeeds(model, 1, 2, 4, true, true);
      await compareSegment(model, 'block.1.hooked', { ...feeds, ...repeatFeed(2).ort }, { ...feeds, ...repeatFeed(2).ref }, blockActivations(model.config, 1));
    });

    test('block 1, hooked variant attending to a past of 3 positions, tiled over 2 rows', async () => {
      const feeds = blockFeeds(model, 1, 2, 4, true, true);
      // Queries at positions 3 … 6 over keys 0 … 6: the mask [4, 7] and (rotary) tables of positions 3 … 6, as Causal Tracing's restored runs.
      Object.assign(feeds, engineBlockFeeds(model.config, 3, 4) as Record<string, Tensor>);
      (['k', 'v'] as const).forEach((which, k) => (feeds[pastInput(1, which)] = gaussian([1, model.config.n_kv_heads, 3, model.config.d_head], 40 + k)));
      await compareSegment(model, 'block.1.hooked', { ...feeds, ...repeatFeed(2).ort }, { ...feeds, ...repeatFeed(2).ref }, blockActivations(model.config, 1));
    });

    test('last block, lean variant, one row of 7 positions', async () => {
      const l = model.config.n_layers - 1;
      const feeds = blockFeeds(model, l, 1, 7, false);
      await compareSegment(model, `block.${l}.lean`, feeds, feeds, [`blocks.${l}.resid_post`]);
    });

    // Token and position embeddings are gathered in JS (interp/embed.ts): no embedding segment.
    test('unembedding (Gemm) segment', async () => {
      const x = gaussian([3, model.config.d_model], 7);
      const pick = BigInt64Array.from([13, 0, 464], BigInt);
      await compareSegment(model, 'unembed', { 'final.in': x, [INPUT.pick]: { shape: [3], ids: pick } }, { 'final.in': x, [INPUT.pick]: { shape: [3], ints: pick } }, ['ln_final.out', 'logits', 'picked']);
    });
  });
}
