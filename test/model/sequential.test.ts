import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadModel, readBatches, resolveStatsCacheDir, runSequential } from '../../src/engine/index';
import type { FactCase, LoadedModel, SequentialSpec } from '../../src/engine/index';
import { tempDir } from '../helpers/paths';

/**
 * Sequential editing on the embedded model (issue 18 item 4), kept to seconds: ROME with 3 v steps
 * (plumbing, not edit quality), three known facts of the CounterFact sample, batches of 1, a 256-token
 * held-out sample. A run interrupted after its first batch and resumed in the same folder must equal
 * an uninterrupted run bit for bit: the same delta bytes, the same batch lines and curve points (only
 * the timings differ), and the model must be unchanged afterwards.
 */
const fact = (subject: string, prompt: string, news: string, truth: string, para: string, neigh: string): FactCase => ({
  prompt, subject, target_new: { str: news }, target_true: { str: truth }, paraphrase_prompts: [para], neighborhood_prompts: [neigh],
});
const CASES: FactCase[] = [
  fact('Angola', '{} is located in', 'Antarctica', 'Africa', 'Angola is a part of the continent of', 'Ghana is in'),
  fact('Toko Yasuda', 'The mother tongue of {} is', 'English', 'Japanese', 'Toko Yasuda spoke the language', 'Shunsuke Nakamura is a native speaker of'),
  fact('Autonomous University of Madrid', '{}, which is located in', 'Sweden', 'Spain', 'The Autonomous University of Madrid is in', 'Barcelona, which is located in'),
];
const SPEC: SequentialSpec = { method: 'rome', problem: 'error-injection', batchSize: 1, measureEvery: 1, cases: CASES, heldOutTokens: 256, hparams: { v_num_grad_steps: 3 } };

/** A batch line without its timing (two runs differ only there). */
const content = (dir: string): string[] => readBatches(dir).batches.map(({ seconds: _s, ...rest }) => JSON.stringify(rest));
const deltaBytes = (dir: string): Buffer[] => fs.readdirSync(path.join(dir, 'deltas')).sort().map((f) => fs.readFileSync(path.join(dir, 'deltas', f)));

describe('sequential editing', () => {
  let model: LoadedModel;
  let tmp: string;
  const cacheDir = resolveStatsCacheDir(undefined);
  before(async () => {
    model = await loadModel('default', { threads: 1 });
    tmp = tempDir('locus-seq-');
  });
  after(async () => {
    await model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('an interrupted run resumed in its folder equals an uninterrupted one, bit for bit; the model is restored', async () => {
    const W = 'blocks.0.mlp.W_out' as never;
    const before = Float32Array.from(model.param(W).data);
    const whole = await runSequential(model, SPEC, { cacheDir, outDir: path.join(tmp, 'whole') });
    assert.equal(whole.batches.length, 3);
    assert.equal(whole.curve.length, 4, 'the unedited point and one per batch');
    assert.deepEqual(Float32Array.from(model.param(W).data), before, 'the model is as before the run');

    const ctl = new AbortController();
    const first = await runSequential(model, SPEC, { cacheDir, outDir: path.join(tmp, 'resumed'), signal: ctl.signal, onProgress: (p) => p.stage === 'batch 1/3 done' && ctl.abort() });
    assert.equal(first.cancelled, true);
    assert.equal(first.batches.length, 1);
    const rest = await runSequential(model, SPEC, { cacheDir, outDir: path.join(tmp, 'resumed') });
    assert.equal(rest.resumed, 1);
    assert.equal(rest.cancelled, false);
    assert.deepEqual(content(path.join(tmp, 'resumed')), content(path.join(tmp, 'whole')));
    assert.deepEqual(deltaBytes(path.join(tmp, 'resumed')), deltaBytes(path.join(tmp, 'whole')));
    assert.deepEqual(JSON.stringify(rest.curve), JSON.stringify(whole.curve));
    assert.deepEqual(Float32Array.from(model.param(W).data), before);

    // The curves' numbers: perplexity of the unedited model is finite and > 1, ‖W‖ grows from 1 (rank-one updates on one layer).
    const [p0, p1, , p3] = whole.curve;
    assert.ok(p0.perplexity > 1 && Number.isFinite(p0.perplexity));
    assert.equal(p0.scores, null);
    assert.deepEqual(p3.weightNorms.map((w) => w.param), ['blocks.0.mlp.W_out']);
    assert.ok(Math.abs(p1.weightNorms[0].growth - 1) > 0, 'the edited weight changed');
    for (const p of whole.curve.slice(1)) for (const v of [p.scores!.rewrite, p.scores!.neighborhood]) assert.ok(v >= 0 && v <= 1, `score ${v} in [0, 1]`);
  });

  test('a folder holding another run, and a batch size below 1, are refused with one line', async () => {
    await assert.rejects(runSequential(model, { ...SPEC, batchSize: 0 }, { cacheDir }), /batch size must be a whole number ≥ 1/);
    await assert.rejects(runSequential(model, { ...SPEC, batchSize: 2 }, { cacheDir, outDir: path.join(tmp, 'whole') }), /holds another sequential run/);
  });
});
