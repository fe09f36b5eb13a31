import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { forward, forwardContext, loadModel } from '../../../src/engine/index';
import { gpt2HfConfig, gpt2HfTensors } from '../../../src/engine/model/arch/exportGpt2';
import { parseConfig } from '../../../src/engine/model/config';
import type { ParamName } from '../../../src/engine/model/names';
import { writeSafetensors } from '../../../src/engine/model/safetensors';
import type { Example } from '../../../src/engine/train/corpus';
import { DEFAULT_RECIPE, initGpt2Params, recipeId } from '../../../src/engine/train/defaultModel';
import { trainLm } from '../../../src/engine/train/lmTrainer';
import type { LmTrainOptions } from '../../../src/engine/train/lmTrainer';
import { tempDir } from '../../helpers/paths';

const cfg = parseConfig({ model_type: 'gpt2', n_embd: 16, n_head: 2, n_layer: 2, n_positions: 32, vocab_size: 40, eos_token_id: 39 });
/** A toy corpus: two "facts" over a 40-token vocabulary. */
const corpus: Example[] = [
  { ids: [1, 2, 3, 4, 5], weights: Float32Array.from([1, 1, 1, 3]) },
  { ids: [6, 2, 3, 7], weights: Float32Array.from([1, 1, 3]) },
  { ids: [8, 9, 10, 11, 12, 13], weights: new Float32Array(5).fill(1) },
];
const base = (dir: string): LmTrainOptions => ({ seed: 3, epochs: 40, tokensPerBatch: 12, lr: 1e-2, minLrRatio: 0.1, warmupSteps: 5, weightDecay: 0.01, clipNorm: 1, checkpointDir: dir, checkpointEvery: 1000, threads: 1 });

describe('language-model training', () => {
  const dirs: string[] = [];
  const dir = (): string => {
    const d = tempDir('locus-train-');
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  test('the loss falls and the toy facts are learned; the same seed gives the same weights', async () => {
    const a = initGpt2Params(cfg, 1);
    const b = initGpt2Params(cfg, 1);
    const losses: number[] = [];
    await trainLm(cfg, a.params, a.shapes, () => corpus, { ...base(dir()), onProgress: (p) => losses.push(p.loss) });
    await trainLm(cfg, b.params, b.shapes, () => corpus, base(dir()));
    assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `loss ${losses[0]} → ${losses[losses.length - 1]}`);
    for (const [name, data] of a.params) assert.deepEqual(data, b.params.get(name), name);
  });

  test('a run resumed from its checkpoint ends bit-identical to an uninterrupted one', async () => {
    const straight = initGpt2Params(cfg, 2);
    await trainLm(cfg, straight.params, straight.shapes, () => corpus, { ...base(dir()), epochs: 6 });
    const ckDir = dir();
    const first = initGpt2Params(cfg, 2);
    await trainLm(cfg, first.params, first.shapes, () => corpus, { ...base(ckDir), epochs: 3 });
    const resumed = initGpt2Params(cfg, 2); // fresh weights: everything must come from the checkpoint
    await trainLm(cfg, resumed.params, resumed.shapes, () => corpus, { ...base(ckDir), epochs: 6 });
    for (const [name, data] of straight.params) assert.deepEqual(resumed.params.get(name), data, name);
  });

  test('epochs of different sizes: a run interrupted in a later epoch and resumed ends bit-identical (same lr schedule)', async () => {
    // Epoch e has 3 + e rows: batches per epoch grow, as with randomly drawn template statements.
    const growing = (epoch: number): Example[] => [...corpus, ...corpus].slice(0, 3 + epoch);
    const straight = initGpt2Params(cfg, 6);
    const steps: number[] = [];
    await trainLm(cfg, straight.params, straight.shapes, growing, { ...base(dir()), epochs: 4, onProgress: (p) => steps.push(p.totalSteps) });
    const ckDir = dir();
    const ctl = new AbortController();
    const first = initGpt2Params(cfg, 6);
    await assert.rejects(trainLm(cfg, first.params, first.shapes, growing, { ...base(ckDir), epochs: 4, signal: ctl.signal, onProgress: (p) => p.epoch === 2 && ctl.abort() }), /cancelled/);
    const resumed = initGpt2Params(cfg, 6);
    const resumedSteps: number[] = [];
    await trainLm(cfg, resumed.params, resumed.shapes, growing, { ...base(ckDir), epochs: 4, onProgress: (p) => resumedSteps.push(p.totalSteps) });
    assert.deepEqual(new Set(resumedSteps), new Set(steps), 'one schedule length');
    for (const [name, data] of straight.params) assert.deepEqual(resumed.params.get(name), data, name);
  });

  test('cancelling saves a checkpoint and throws a cancelled error', async () => {
    const ck = dir();
    const ctl = new AbortController();
    const p = initGpt2Params(cfg, 4);
    await assert.rejects(
      trainLm(cfg, p.params, p.shapes, () => corpus, { ...base(ck), onProgress: (s) => s.step === 3 && ctl.abort(), signal: ctl.signal }),
      /cancelled at step 3/,
    );
    assert.equal(JSON.parse(fs.readFileSync(path.join(ck, 'checkpoint.json'), 'utf8')).step, 3);
  });

  test('a checkpoint of another recipe is refused, not resumed; recipeId tells recipes apart regardless of key order', async () => {
    const ck = dir();
    const p = initGpt2Params(cfg, 5);
    await trainLm(cfg, p.params, p.shapes, () => corpus, { ...base(ck), epochs: 1, recipe: 'aaaa' });
    assert.equal(JSON.parse(fs.readFileSync(path.join(ck, 'checkpoint.json'), 'utf8')).recipe, 'aaaa');
    const q = initGpt2Params(cfg, 5);
    await assert.rejects(trainLm(cfg, q.params, q.shapes, () => corpus, { ...base(ck), epochs: 2, recipe: 'bbbb' }), /another training recipe \(aaaa, not bbbb\).*--fresh/);
    const reordered = { ...DEFAULT_RECIPE, corpus: Object.fromEntries(Object.entries(DEFAULT_RECIPE.corpus).reverse()) as typeof DEFAULT_RECIPE.corpus };
    assert.equal(recipeId(reordered), recipeId(DEFAULT_RECIPE));
    assert.notEqual(recipeId({ ...DEFAULT_RECIPE, corpus: { ...DEFAULT_RECIPE.corpus, answerWeight: 2 } }), recipeId(DEFAULT_RECIPE));
  });

  test('exported weights reload through the Hugging Face loader and compute the same logits', async () => {
    const { params, shapes } = initGpt2Params(cfg, 5);
    const out = dir();
    const p = (n: ParamName) => ({ shape: shapes.get(n)!, data: params.get(n)! });
    writeSafetensors(path.join(out, 'model.safetensors'), gpt2HfTensors(cfg, p));
    fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(gpt2HfConfig(cfg)));
    // A tokenizer that fits the 40-row embedding (the loader refuses one from another model): 39 byte
    // symbols and <|endoftext|>, no merges. The forward pass below feeds ids directly.
    const vocab = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [i === 39 ? '<|endoftext|>' : String.fromCharCode(0x41 + i), i]));
    fs.writeFileSync(path.join(out, 'vocab.json'), JSON.stringify(vocab));
    fs.writeFileSync(path.join(out, 'merges.txt'), '#version: 0.2\n');
    const model = await loadModel(out);
    try {
      for (const [name, data] of params) assert.deepEqual(model.param(name).data, data, name);
      const { logits } = await forward(forwardContext(model), [[1, 2, 3]]);
      assert.equal(logits!.shape[1], 40);
    } finally {
      await model.dispose();
    }
  });
});
