import type { Feed } from '../runtime/ort';
import { causalMask } from '../graph/attention';
import { INPUT } from '../graph/segments';
import type { Example } from './corpus';
import { LM_INPUT } from './lmGraph';
import { shuffle } from './rng';

/**
 * Groups examples of similar length into batches of at most `tokensPerBatch` padded tokens, then
 * shuffles the batches: little padding, random order, same result for the same `rand`.
 */
export function makeBatches(examples: readonly Example[], tokensPerBatch: number, rand: () => number): Example[][] {
  const keyed = examples.map((e) => ({ e, key: rand() }));
  keyed.sort((a, b) => a.e.ids.length - b.e.ids.length || a.key - b.key);
  const batches: Example[][] = [];
  let cur: Example[] = [];
  for (const { e } of keyed) {
    const len = Math.max(e.ids.length, ...cur.map((x) => x.ids.length));
    if (cur.length > 0 && len * (cur.length + 1) > tokensPerBatch) {
      batches.push(cur);
      cur = [];
    }
    cur.push(e);
  }
  if (cur.length) batches.push(cur);
  return shuffle(batches, rand);
}

/**
 * Graph feeds for one batch: inputs ids[:-1], targets ids[1:], right-padded with `padId`; target
 * weights are normalized to sum to 1 over the batch (padding weighs 0), so the loss is a weighted mean.
 */
export function batchFeeds(batch: readonly Example[], padId: number): { feeds: Record<string, Feed>; tokens: number } {
  const T = Math.max(...batch.map((e) => e.ids.length)) - 1;
  const B = batch.length;
  const ids = new BigInt64Array(B * T).fill(BigInt(padId));
  const positions = new BigInt64Array(B * T);
  const targets = new BigInt64Array(B * T).fill(BigInt(padId));
  const weights = new Float32Array(B * T);
  let total = 0;
  let tokens = 0;
  batch.forEach((e, b) => {
    for (let t = 0; t < T; t++) positions[b * T + t] = BigInt(t);
    for (let t = 0; t < e.ids.length - 1; t++) {
      ids[b * T + t] = BigInt(e.ids[t]);
      targets[b * T + t] = BigInt(e.ids[t + 1]);
      weights[b * T + t] = e.weights[t];
      total += e.weights[t];
      tokens++;
    }
  });
  for (let i = 0; i < weights.length; i++) weights[i] /= total;
  return {
    tokens,
    feeds: {
      [INPUT.ids]: { shape: [B, T], ids },
      [INPUT.positions]: { shape: [B, T], ids: positions },
      [INPUT.mask]: { shape: [T, T], data: causalMask(T) },
      [LM_INPUT.targets]: { shape: [B * T], ids: targets },
      [LM_INPUT.weights]: { shape: [B * T], data: weights },
    },
  };
}
