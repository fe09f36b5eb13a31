import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isLocusError, loadModel, runCausalTrace } from '../../src/engine/index';
import type { ParamName } from '../../src/engine/model/names';
import { editHandlers } from '../../src/worker/handlers/edit';
import { traceHandlers } from '../../src/worker/handlers/trace';
import type { JobContext } from '../../src/worker/jobs';
import { WorkerState } from '../../src/worker/state';

/**
 * The Fact panel's re-trace through the worker (`trace/retrace`): with the user's edit applied (a real
 * `edit/run`: constrained fine-tuning on the embedded model, "Angola is located in" → " Europe"), the
 * answer's top-level grids are the edited model's, `original` is exactly what `trace/run` gives once the
 * edit is reverted, `difference` is edited − original exactly, and the applied edit is afterwards the
 * very same tensor (lifted and put back, never recomputed). Without an applied edit it is refused.
 */
describe('trace/retrace (worker, embedded model)', () => {
  let state: WorkerState;
  const ctx: JobContext = { signal: new AbortController().signal, progress: () => undefined };
  const req = { prompt: 'Angola is located in', subject: 'Angola', kinds: ['hidden', 'mlp'] as const, samples: 3, window: 3 };
  const W = 'blocks.0.mlp.W_out' as ParamName;

  before(async () => {
    state = new WorkerState();
    await state.setModel(await loadModel('default'));
    await state.prepared();
  });
  after(async () => state.dispose());

  test('refused without an applied edit', async () => {
    await assert.rejects(traceHandlers(state)['trace/retrace']({ ...req }, ctx), (e: unknown) => isLocusError(e) && /no edit is applied/.test(e.message));
  });

  test('original = trace/run without the edit, difference exact, the applied tensor kept', async () => {
    const fact = { prompt: '{} is located in', subject: 'Angola', target_new: { str: 'Europe' }, target_true: { str: 'Africa' } };
    await editHandlers(state)['edit/run']({ method: 'ft', layer: 0, cases: [fact], force: true }, ctx);
    const model = state.requireModel();
    const applied = model.overrides.override(W);
    assert.ok(applied, 'the edit is applied');
    const progress: Array<{ done?: number; total?: number }> = [];
    const r = await traceHandlers(state)['trace/retrace']({ ...req }, { ...ctx, progress: (p) => progress.push(p) });
    assert.equal(model.overrides.override(W), applied, 'the same Tensor object is back');
    assert.deepEqual(r.edit, { method: 'ft', layers: [0] });
    assert.equal(progress.at(-1)!.done, progress.at(-1)!.total);

    const edited = await runCausalTrace(model, { ...req, targetIds: r.answer.ids, noise: r.noiseLevel });
    assert.deepEqual(r.grids, edited.grids);
    for (const kind of ['hidden', 'mlp'] as const) {
      const d = r.difference.grids[kind]!.scores;
      d.forEach((row, t) => row.forEach((v, l) => assert.equal(v, r.grids[kind]!.scores[t][l] - r.original.grids[kind]!.scores[t][l])));
    }
    await editHandlers(state)['edit/revertAll']({}, ctx);
    const plain = await traceHandlers(state)['trace/run']({ ...req }, ctx);
    assert.deepEqual(r.original.grids, plain.grids);
    assert.equal(r.original.highScore, plain.highScore);
    assert.equal(r.answer.token, plain.answer.token);
  });
});
