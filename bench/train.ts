import { appendGradients, gradName } from '../src/engine/autodiff/backward';
import { causalMask } from '../src/engine/graph/attention';
import { GraphBuilder } from '../src/engine/graph/builder';
import { encodeModel } from '../src/engine/graph/proto';
import { blockInputs, emitBlock, INPUT } from '../src/engine/graph/segments';
import type { ParamName } from '../src/engine/model/names';
import type { Feed } from '../src/engine/runtime/ort';
import { RuntimeSession } from '../src/engine/runtime/ort';
import { DEFAULT_RECIPE } from '../src/engine/train/defaultModel';
import { buildLmTrainingGraph } from '../src/engine/train/lmGraph';
import { randomModel } from './randomModel';
import { median, timePair } from './timing';

/** One GPT-2-small block: forward only (weights baked in) vs forward + backward to the input and every weight. */
async function blockRatio(threads: number): Promise<void> {
  const { config, param } = randomModel();
  const [B, T] = [64, 10];
  const build = (train: boolean) => {
    const g = new GraphBuilder('block', () => train);
    const x = g.input('x', [B, T, config.d_model]);
    const y = emitBlock(g, config, 0, param, { full: false }, x, blockInputs(g, config));
    if (!train) {
      g.output(y, [B, T, config.d_model]);
      return { spec: g.build(), fetch: [y], weights: new Map() };
    }
    const loss = g.node('ReduceSum', [g.node('Mul', [y, g.input('r', [B, T, config.d_model])])], { keepdims: 0 }, 'loss');
    g.output(loss, []);
    const wrt = ['x', ...g.weightFeeds.keys()];
    appendGradients(g, loss, wrt);
    for (const w of wrt) g.output(gradName(w), w === 'x' ? [B, T, config.d_model] : param(w as ParamName).shape);
    return { spec: g.build(), fetch: ['loss', ...wrt.map(gradName)], weights: g.weightFeeds };
  };
  const fwd = build(false);
  const bwd = build(true);
  const sf = await RuntimeSession.create('fwd', encodeModel(fwd.spec, 20), { threads });
  const sb = await RuntimeSession.create('fwd+bwd', encodeModel(bwd.spec, 20), { threads });
  const n = B * T * config.d_model;
  const x = { shape: [B, T, config.d_model], data: Float32Array.from({ length: n }, (_, i) => Math.sin(i)) };
  const feeds: Record<string, Feed> = { x, [INPUT.mask]: { shape: [T, T], data: causalMask(T) } };
  const bfeeds: Record<string, Feed> = { ...feeds, r: { shape: x.shape, data: Float32Array.from({ length: n }, (_, i) => Math.cos(i)) } };
  for (const [k, v] of bwd.weights) bfeeds[k] = v;
  const [tf, tb] = await timePair(8, () => sf.run(feeds, fwd.fetch), () => sb.run(bfeeds, bwd.fetch));
  console.log(`block ${B}x${T}: forward ${(median(tf) * 1000).toFixed(1)} ms, forward+backward ${(median(tb) * 1000).toFixed(1)} ms, ratio ${(median(tb) / median(tf)).toFixed(2)} (target ≤ 3)`);
  await sf.release();
  await sb.release();
}

/** Training throughput of the embedded model's shape (the default recipe), one fused step graph. */
async function trainingThroughput(threads: number): Promise<void> {
  const { config, param } = randomModel(DEFAULT_RECIPE.config);
  const g = buildLmTrainingGraph(config, param);
  const s = await RuntimeSession.create('train', encodeModel(g.spec, 20), { threads });
  const [B, T] = [48, 32];
  const V = config.d_vocab;
  const feeds: Record<string, Feed> = {
    [INPUT.ids]: { shape: [B, T], ids: BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7919) % V)) },
    [INPUT.positions]: { shape: [B, T], ids: BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)) },
    [INPUT.mask]: { shape: [T, T], data: causalMask(T) },
    targets: { shape: [B * T], ids: BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 31) % V)) },
    target_weights: { shape: [B * T], data: new Float32Array(B * T).fill(1 / (B * T)) },
  };
  for (const p of g.params) feeds[p] = param(p);
  const [t] = await timePair(5, () => s.run(feeds, g.outputs), async () => undefined);
  console.log(`training step (default recipe shape, ${B}x${T} tokens): ${(median(t) * 1000).toFixed(0)} ms, ${((B * T) / median(t)).toFixed(0)} tokens/s`);
  await s.release();
}

export async function benchTrain(threads: number): Promise<void> {
  console.log(`# train: intra-op threads ${threads}`);
  await blockRatio(threads);
  await trainingThroughput(threads);
}
