import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { forward, forwardContext, loadModel, logSoftmax } from '../../src/engine/index';
import type { ActName, Intervention, LoadedModel, Tensor } from '../../src/engine/index';
import { RandomState } from '../../src/engine/methods/causalTrace/randomState';
import { assertAllClose, maxAbsDiff } from '../helpers/assertClose';
import { golden } from '../helpers/paths';

/**
 * The interventions reproduce ROME's causal-trace cells (kmeng01/rome calculate_hidden_flow, the
 * golden trace file): noise on the subject's token embeddings, then restoring clean states.
 * Tolerance 1e-4 absolute on probabilities (golden/README.md).
 */
interface Run {
  kind: string | null;
  window: number;
  scores: number[][];
  low_score: number;
}
const trace = JSON.parse(fs.readFileSync(golden('gpt2-tiny-trained', 'trace_space_needle.json'), 'utf8')) as {
  input_ids: number[];
  subject_range: [number, number];
  answer_id: number;
  clean_prob: number;
  samples: number;
  noise: { level: number };
  runs: Run[];
};

describe('interventions reproduce golden causal-trace cells (gpt2-tiny-trained)', () => {
  let model: LoadedModel;
  let clean: Map<ActName, Tensor>;
  const S = trace.samples;
  const [b, e] = trace.subject_range;
  const rows = Array.from({ length: S }, (_, i) => i + 1);
  const batch = Array.from({ length: S + 1 }, () => trace.input_ids);
  let noise: Intervention;

  /** Mean over the noised rows of p(answer) at the last position. */
  async function score(extra: Intervention[]): Promise<number> {
    const { logits } = await forward(forwardContext(model), batch, { interventions: [noise, ...extra] });
    const V = model.config.d_vocab;
    let sum = 0;
    for (const r of rows) sum += Math.exp(logSoftmax(logits!.data.subarray(r * V, (r + 1) * V))[trace.answer_id]);
    return sum / S;
  }

  /** Restores the clean values of `sites` at token t in every noised row. */
  const restore = (sites: ActName[], t: number): Intervention[] =>
    sites.map((site) => {
      const x = clean.get(site)!;
      const d = x.shape[2];
      return { kind: 'replace', site, rows, positions: [t], values: { shape: [1, 1, d], data: x.data.slice(t * d, (t + 1) * d) } };
    });

  before(async () => {
    model = await loadModel(golden('gpt2-tiny-trained'));
    const L = model.config.n_layers;
    const sites: ActName[] = [];
    for (let l = 0; l < L; l++) sites.push(`blocks.${l}.resid_post`, `blocks.${l}.mlp.out`, `blocks.${l}.attn.out`);
    clean = new Map((await forward(forwardContext(model), [trace.input_ids], { fetch: sites })).acts);
    const draws = new RandomState(1).randn(S, e - b, model.config.d_model);
    const values = Float32Array.from(draws, (z) => z * trace.noise.level);
    noise = { kind: 'add', site: 'embed', rows, positions: Array.from({ length: e - b }, (_, i) => b + i), values: { shape: [S, e - b, model.config.d_model], data: values } };
  });
  after(async () => model.dispose());

  test('clean row 0 gives the clean probability; noised rows give the low score', async () => {
    const { logits } = await forward(forwardContext(model), batch, { interventions: [noise] });
    const p0 = Math.exp(logSoftmax(logits!.data.subarray(0, model.config.d_vocab))[trace.answer_id]);
    assert.ok(Math.abs(p0 - trace.clean_prob) < 1e-4, `clean ${p0} vs ${trace.clean_prob}`);
    const low = await score([]);
    assert.ok(Math.abs(low - trace.runs[0].low_score) < 1e-4, `low ${low} vs ${trace.runs[0].low_score}`);
    assert.ok(Math.abs(low - trace.clean_prob) > 1e-3, 'the noise changes the prediction');
  });

  test('hidden-state restores (replace at resid_post) give the golden scores', async () => {
    const run = trace.runs.find((r) => r.kind === null)!;
    for (const [t, l] of [[b, 0], [e - 1, 1], [e - 1, 3], [trace.input_ids.length - 1, 2]]) {
      const got = await score(restore([`blocks.${l}.resid_post`], t));
      assert.ok(Math.abs(got - run.scores[t][l]) < 1e-4, `hidden t=${t} l=${l}: ${got} vs ${run.scores[t][l]}`);
    }
  });

  for (const kind of ['mlp', 'attn'] as const) {
    test(`${kind} window restores (replace at ${kind}.out inside blocks) give the golden scores`, async () => {
      const L = model.config.n_layers;
      for (const window of [10, 5]) {
        const run = trace.runs.find((r) => r.kind === kind && r.window === window)!;
        for (const [t, l] of [[e - 1, 0], [e - 1, 2], [b + 1, 3]]) {
          const layers: number[] = [];
          for (let k = Math.max(0, l - Math.floor(window / 2)); k < Math.min(L, l - Math.floor(-window / 2)); k++) layers.push(k);
          const got = await score(restore(layers.map((k) => `blocks.${k}.${kind}.out` as ActName), t));
          assert.ok(Math.abs(got - run.scores[t][l]) < 1e-4, `${kind} w=${window} t=${t} l=${l}: ${got} vs ${run.scores[t][l]}`);
        }
      }
    });
  }

  test('adding a vector at mlp.out equals adding it at resid_post (GPT-2: resid_post = resid_mid + mlp.out)', async () => {
    const d = model.config.d_model;
    const v = Float32Array.from({ length: d }, (_, i) => Math.sin(i) * 0.5);
    const ivAt = (site: ActName): Intervention => ({ kind: 'add', site, positions: [2, 5], values: { shape: [1, 1, d], data: v } });
    const a = await forward(forwardContext(model), [trace.input_ids], { interventions: [ivAt('blocks.1.mlp.out')] });
    const c = await forward(forwardContext(model), [trace.input_ids], { interventions: [ivAt('blocks.1.resid_post')] });
    const base = await forward(forwardContext(model), [trace.input_ids]);
    assertAllClose(a.logits!.data, c.logits!.data, 1e-4, 'logits');
    assert.ok(maxAbsDiff(a.logits!.data, base.logits!.data) > 1e-2, 'the vector changes the logits');
  });

  test('a fetch that forces the hooked block variant changes no number', async () => {
    const lean = await forward(forwardContext(model), [trace.input_ids]);
    const full = await forward(forwardContext(model), [trace.input_ids], { fetch: ['blocks.0.mlp.post', 'blocks.3.attn.out'] });
    assert.equal(maxAbsDiff(lean.logits!.data, full.logits!.data), 0);
    assert.deepEqual(full.acts.get('blocks.0.mlp.post')!.shape, [1, trace.input_ids.length, model.config.d_mlp]);
  });

  test('bad interventions are refused with a clear message', async () => {
    const d = model.config.d_model;
    const ok = { shape: [1, 1, d], data: new Float32Array(d) };
    await assert.rejects(forward(forwardContext(model), [trace.input_ids], { interventions: [{ kind: 'add', site: 'blocks.9.mlp.out', positions: [0], values: ok }] }), /cannot intervene at blocks\.9\.mlp\.out/);
    await assert.rejects(forward(forwardContext(model), [trace.input_ids], { interventions: [{ kind: 'add', site: 'blocks.0.mlp.out', positions: [99], values: ok }] }), /position 99 outside/);
    await assert.rejects(forward(forwardContext(model), [trace.input_ids], { interventions: [{ kind: 'add', site: 'embed', positions: [0], values: { shape: [1, 1, 3], data: new Float32Array(3) } }] }), /expected \[1 or 1, 1 or 1, 64\]/);
  });
});
