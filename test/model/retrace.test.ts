import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadModel, retraceAppliedEdits, retraceWithEdit } from '../../src/engine/index';
import type { Edit, LoadedModel, RetraceResult, TraceRequest, TraceResult } from '../../src/engine/index';
import { runCausalTrace } from '../../src/engine/methods/causalTrace/trace';
import { EditStack } from '../../src/engine/methods/edit/edits';
import { golden } from '../helpers/paths';

/**
 * Re-tracing after an edit (issue 19 item 1) on gpt2-facts-trained with the reference's own ROME edit
 * (rome_eiffel.json: kmeng01/rome's u and v at layer 1, "The Eiffel Tower" → Rome). The original grids
 * must be exactly runCausalTrace's on the unedited model (the same code on the same weights and draws);
 * the edited grids exactly runCausalTrace's on the edited model scoring the original's answer; the
 * difference exactly edited − original (float64 subtraction of the reported numbers). The original's
 * hidden grid also matches ROME's calculate_hidden_flow (trace_eiffel.json) within the trace parity
 * test's 1e-4. Both entry points (edit applied on a nested stack; the user's applied edits lifted)
 * leave the model's parameters as they were, bit for bit.
 */
interface GoldenRome {
  edits: Array<{ u: number[]; v: number[] }>;
  post: Array<{ prompt: string; target_true: { prob_first_token: number } }>;
}
interface GoldenTrace {
  prompt: string;
  subject: string;
  samples: number;
  runs: Array<{ kind: string | null; window: number | null; scores: number[][] }>;
}

const W_OUT = 'blocks.1.mlp.W_out';

describe('re-trace after an edit (gpt2-facts-trained, the reference ROME edit)', () => {
  const ref = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'trace_eiffel.json'), 'utf8')) as GoldenTrace;
  const rome = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'rome_eiffel.json'), 'utf8')) as GoldenRome;
  const edit: Edit = { method: 'rome', layers: [1], deltas: [{ param: W_OUT, kind: 'rank-one', u: Float32Array.from(rome.edits[0].u), v: Float32Array.from(rome.edits[0].v) }] };
  const req: TraceRequest = { prompt: ref.prompt, subject: ref.subject, samples: ref.samples, kinds: ['hidden', 'mlp', 'attn'], window: 10 };
  let model: LoadedModel;
  let plain: TraceResult;
  let retraced: RetraceResult;
  let before0: Float32Array;
  before(async () => {
    model = await loadModel(golden('gpt2-facts-trained'));
    before0 = Float32Array.from(model.param(W_OUT).data);
    plain = await runCausalTrace(model, req);
    retraced = await retraceWithEdit(model, req, edit);
  });
  after(async () => model.dispose());

  test('original = locus trace on the unedited model, cell for cell (exact); hidden grid = ROME reference within 1e-4', () => {
    assert.deepEqual(retraced.original.grids, plain.grids);
    assert.equal(retraced.original.highScore, plain.highScore);
    assert.equal(retraced.original.lowScore, plain.lowScore);
    const hidden = ref.runs.find((r) => r.kind === null)!.scores;
    let worst = 0;
    hidden.forEach((row, t) => row.forEach((v, l) => (worst = Math.max(worst, Math.abs(v - retraced.original.grids.hidden!.scores[t][l])))));
    assert.ok(worst <= 1e-4, `max |original − reference| ${worst}`);
  });

  test('difference = edited − original, cell for cell (exact)', () => {
    for (const kind of ['hidden', 'mlp', 'attn'] as const) {
      const e = retraced.grids[kind]!.scores;
      const o = retraced.original.grids[kind]!.scores;
      const d = retraced.difference.grids[kind]!.scores;
      assert.equal(d.length, e.length);
      d.forEach((row, t) => row.forEach((v, l) => assert.equal(v, e[t][l] - o[t][l], `${kind} [${t}][${l}]`)));
    }
    // The edited clean run is the reference's post-edit p(" Paris") (0.9985 → 0.0058), within 1e-4 (float32 u, v from JSON).
    assert.equal(retraced.answer.token, ' Paris');
    const post = rome.post.find((p) => p.prompt === ref.prompt)!.target_true.prob_first_token;
    assert.ok(Math.abs(retraced.highScore - post) <= 1e-4, `edited high ${retraced.highScore} vs reference ${post}`);
    assert.ok(retraced.original.highScore > 0.99, `original high ${retraced.original.highScore}`);
    assert.deepEqual(retraced.edit, { method: 'rome', layers: [1] });
  });

  test('edited = locus trace on the edited model scoring the original answer, with the same noise', async () => {
    const stack = new EditStack(model);
    await stack.apply(edit);
    try {
      const direct = await runCausalTrace(model, { ...req, targetIds: plain.answer.ids });
      assert.deepEqual(retraced.grids, direct.grids);
      assert.equal(retraced.noiseLevel, direct.noiseLevel);
      assert.equal(retraced.lowScore, direct.lowScore);
    } finally {
      await stack.revertAll();
    }
  });

  test('the model is unchanged afterwards (no override, the file value bit for bit)', () => {
    assert.deepEqual(model.overrides.names(), []);
    const now = model.param(W_OUT).data;
    assert.equal(Buffer.compare(Buffer.from(now.buffer, now.byteOffset, now.byteLength), Buffer.from(before0.buffer)), 0);
  });

  test('with the edit already applied (the panel), lifting it gives the same three grids and puts back the same tensor', async () => {
    const stack = new EditStack(model);
    await stack.apply(edit);
    const applied = model.overrides.override(W_OUT);
    try {
      const progress: number[] = [];
      const fromPanel = await retraceAppliedEdits(model, { ...req, kinds: ['hidden'] }, edit, { onProgress: ({ done, total }) => progress.push(done / total) });
      assert.deepEqual(fromPanel.original.grids.hidden, retraced.original.grids.hidden);
      assert.deepEqual(fromPanel.grids.hidden, retraced.grids.hidden);
      assert.deepEqual(fromPanel.difference.grids.hidden, retraced.difference.grids.hidden);
      assert.equal(model.overrides.override(W_OUT), applied, 'the very same Tensor object is back');
      assert.equal(progress.at(-1), 1);
      assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]), 'progress never goes back');
    } finally {
      await stack.revertAll();
    }
    assert.deepEqual(model.overrides.names(), []);
  });
});
