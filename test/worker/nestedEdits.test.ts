import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultDatasetPath, EditStack, factCaseOf, loadCounterFact, loadModel } from '../../src/engine/index';
import type { FactCase } from '../../src/engine/index';
import type { ParamName } from '../../src/engine/model/names';
import { editHandlers } from '../../src/worker/handlers/edit';
import { studyHandlers } from '../../src/worker/handlers/study';
import type { JobContext } from '../../src/worker/jobs';
import { WorkerState } from '../../src/worker/state';
import { tempDir } from '../helpers/paths';

/**
 * Issue 18 item 1: temporary edits (runEdit's measurement, a sweep's edits, a study on the file's
 * weights) nest on the user's applied edits. Two user ROME edits on the embedded model's layer 0 are
 * bit for bit the same after a sweep and a study that edit the same parameter, and the user's stack
 * is never reverted nor re-applied to get there.
 */
describe('the worker keeps applied edits exact through sweeps and studies, without replaying them', () => {
  let state: WorkerState;
  let tmp: string;
  let cases: FactCase[];
  const ctx: JobContext = { signal: new AbortController().signal, progress: () => undefined };
  // A few v steps: the test is about parameter state, not about the edits' quality.
  const hparams = { v_num_grad_steps: 3 };
  const W = 'blocks.0.mlp.W_out' as ParamName;

  before(async () => {
    tmp = tempDir('locus-nested-edits-');
    state = new WorkerState();
    await state.setModel(await loadModel('default'));
    await state.prepared();
    const records = loadCounterFact(defaultDatasetPath());
    cases = [8024, 3648].map((id) => factCaseOf(records.find((r) => r.case_id === id)!));
  });
  after(async () => {
    await state.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('two ROME edits, then a sweep cell and a study cell: the parameters are the two-edit values bit for bit', async () => {
    const edit = editHandlers(state);
    const study = studyHandlers(state);
    const cacheDir = path.join(tmp, 'stats');
    const model = state.requireModel();
    const fileValue = model.param(W).data.slice();
    // force: case 8024's subject is its prompt's first token, which the pre-flight safety checks flag for ROME (not applied otherwise).
    for (const c of cases) await edit['edit/run']({ method: 'rome', layer: 0, cases: [c], hparams, cacheDir, force: true }, ctx);
    const twoEdits = model.param(W).data.slice();
    assert.notDeepEqual(twoEdits, fileValue);

    // Every change to the user's stack from here on is counted: there must be none.
    const stack = state.stack();
    const calls: string[] = [];
    for (const name of ['apply', 'revert', 'revertAll'] as const) {
      const original = stack[name].bind(stack) as (...a: unknown[]) => Promise<void>;
      (stack as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => {
        calls.push(name);
        return original(...a);
      };
    }

    const sweep = await study['sweep/run']({ case: cases[0], methods: ['rome'], layers: [0], hparams, cacheDir }, ctx);
    assert.equal(sweep.points.length, 1);
    assert.deepEqual(model.param(W).data, twoEdits, 'after the sweep');

    const studied = await study['study/run']({ dir: path.join(tmp, 'study'), cases: '8024', methods: ['ft'], layers: [0], cacheDir }, ctx);
    assert.equal(studied.rows, 1);
    // Compared as Float32Arrays, element by element, exactly.
    assert.deepEqual(model.param(W).data, twoEdits, 'after the study');
    assert.deepEqual(calls, [], "the user's stack was changed");
    assert.deepEqual((await edit['edit/list']({}, ctx)).edits.map((e) => e.id), ['e1', 'e2']);

    // Reverting the first edit leaves exactly file + the second edit; reverting both, the file's values.
    await edit['edit/revert']({ id: 'e1' }, ctx);
    assert.notDeepEqual(model.param(W).data, twoEdits);
    await edit['edit/revertAll']({}, ctx);
    assert.deepEqual(model.param(W).data, fileValue);
  });
});

describe('EditStack nesting (edits.ts)', () => {
  test('an inner stack reverts to its creation state; the outer stack still reverts one edit exactly', async () => {
    const model = await loadModel('default');
    try {
      const W = 'blocks.1.mlp.W_out' as ParamName;
      const shape = model.param(W).shape;
      const n = model.param(W).data.length;
      const dense = (seed: number) => ({ method: 'test', layers: [1], deltas: [{ param: W, kind: 'dense' as const, shape, delta: Float32Array.from({ length: n }, (_, i) => Math.sin(i * seed) * 1e-3) }] });
      const file = model.param(W).data.slice();
      const outer = new EditStack(model);
      const [a, b] = [dense(1.3), dense(0.7)];
      await outer.apply(a);
      const onlyA = model.param(W).data.slice();
      await outer.apply(b);
      const both = model.param(W).data.slice();
      const inner = new EditStack(model);
      await inner.apply(dense(2.1));
      await inner.apply(dense(0.2));
      await inner.revert();
      await inner.revertAll();
      assert.deepEqual(model.param(W).data, both);
      await outer.revert(b);
      assert.deepEqual(model.param(W).data, onlyA);
      await outer.revertAll();
      assert.deepEqual(model.param(W).data, file);
      assert.deepEqual(model.overrides.names(), []);
    } finally {
      await model.dispose();
    }
  });
});
