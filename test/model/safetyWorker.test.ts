import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultDatasetPath, factCaseOf, loadCounterFact, loadModel } from '../../src/engine/index';
import type { FactCase } from '../../src/engine/index';
import type { ParamName } from '../../src/engine/model/names';
import { editHandlers } from '../../src/worker/handlers/edit';
import type { JobContext } from '../../src/worker/jobs';
import { WorkerState } from '../../src/worker/state';
import { tempDir } from '../helpers/paths';

/**
 * Issue 18 item 5 in the worker: a disabling ROME edit (case 17674, "{}'s capital city is", Israel: a
 * first-token subject whose bare prompt key is nearly orthogonal to C⁻¹k*, D/d_mlp 0.036) is flagged,
 * answered with its checks and details, and NOT applied; the same request with `force` is applied. Edits
 * nothing flags ("The mother tongue of {} is", and the first-token Angola, case 20952) are applied without asking.
 */
describe('worker edit/run: flagged edits are held unless forced', () => {
  let state: WorkerState;
  let tmp: string;
  let records: ReturnType<typeof loadCounterFact>;
  const ctx: JobContext = { signal: new AbortController().signal, progress: () => undefined };
  const hparams = { v_num_grad_steps: 3 };
  const W = 'blocks.0.mlp.W_out' as ParamName;
  const fact = (id: number): FactCase => factCaseOf(records.find((r) => r.case_id === id)!);

  before(async () => {
    tmp = tempDir('locus-safety-worker-');
    state = new WorkerState();
    await state.setModel(await loadModel('default'));
    records = loadCounterFact(defaultDatasetPath());
  });
  after(async () => {
    await state.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('flagged: not applied (weights bit for bit, empty stack), details measured; force: applied', async () => {
    const edit = editHandlers(state);
    const model = state.requireModel();
    const fileValue = model.param(W).data.slice();
    const cacheDir = path.join(tmp, 'stats');
    const held = await edit['edit/run']({ method: 'rome', layer: 0, cases: [fact(17674)], hparams, cacheDir, details: true }, ctx);
    assert.equal(held.applied, false);
    assert.equal(held.id, '');
    assert.equal(held.safety?.flagged, true);
    const flagged = held.safety?.checks.filter((c) => c.flagged).map((c) => c.name) ?? [];
    assert.ok(flagged.includes('update-denominator') && flagged.includes('subject-first-token'), flagged.join(', '));
    assert.deepEqual(held.stack.edits, []);
    assert.ok(held.details && held.details.predictions.length > 0, 'what the edit would do is shown');
    assert.deepEqual(model.param(W).data, fileValue, 'the weights are the file\'s, bit for bit');

    const forced = await edit['edit/run']({ method: 'rome', layer: 0, cases: [fact(17674)], hparams, cacheDir, force: true }, ctx);
    assert.equal(forced.applied, true);
    assert.equal(forced.safety?.flagged, true, 'still reported');
    assert.deepEqual(forced.stack.edits.map((e) => e.id), [forced.id]);
    assert.notDeepEqual(model.param(W).data, fileValue);
  });

  test('edits nothing flags are applied without force (a first-token subject with normal numbers too)', async () => {
    const edit = editHandlers(state);
    const mother = records.find((r) => r.requested_rewrite.prompt === 'The mother tongue of {} is')!;
    for (const c of [factCaseOf(mother), fact(20952)]) {
      const r = await edit['edit/run']({ method: 'rome', layer: 0, cases: [c], hparams, cacheDir: path.join(tmp, 'stats') }, ctx);
      assert.equal(r.safety?.flagged, false, JSON.stringify(r.safety));
      assert.equal(r.applied, true);
      assert.ok(r.stack.edits.some((e) => e.id === r.id));
    }
  });
});
