import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forward, forwardContext, loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { LocusError } from '../../src/engine/errors';
import type { ParamName } from '../../src/engine/model/names';
import type { Tensor } from '../../src/engine/tensor/tensor';
import { golden } from '../helpers/paths';

/**
 * A lean model's embedding rows come from the file, not from a copy of the whole table (interp/embed.ts,
 * mappedWeights.ts TableReader): on a GPT-2-XL-shaped model the token table is 321 MB (measured: peak RSS
 * of one forward on a 7-layer XL-shaped folder 1591 → 1279 MB). The golden gpt2-facts-trained loaded lean
 * maps every parameter as such a model does; results must not change by a bit.
 */
const NAME = 'gpt2-facts-trained';
const IDS = [464, 3139, 286, 4881, 318, 1105, 257];

describe('embedding rows read from the file (lean, mapped)', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadModel(golden(NAME), { lean: true });
  });
  after(async () => model.dispose());

  const rowsOf = (t: Tensor, ids: readonly number[]): Float32Array => {
    const d = t.shape[1];
    const out = new Float32Array(ids.length * d);
    ids.forEach((id, i) => out.set(t.data.subarray(id * d, (id + 1) * d), i * d));
    return out;
  };

  test('the rows read are the table\'s rows bit for bit (token and position tables)', () => {
    for (const [name, ids] of [['embed.W_E', IDS], ['pos_embed.W_pos', [0, 1, 2, 5, 3]]] as const) {
      const reader = model.tables?.(name as ParamName);
      assert.ok(reader, `${name} is read by rows`);
      assert.deepEqual([...reader.shape], [...model.param(name as ParamName).shape]);
      assert.deepEqual(reader.read(BigInt64Array.from(ids, BigInt)), rowsOf(model.param(name as ParamName), ids));
    }
  });

  test('a forward pass gives the same logits as gathering from the whole table, bit for bit', async () => {
    const byRows = await forward(forwardContext(model), [IDS, IDS.slice(0, 4)]);
    const whole = await forward({ ...forwardContext(model), tables: undefined }, [IDS, IDS.slice(0, 4)]);
    assert.deepEqual(byRows.logits!.data, whole.logits!.data);
  });

  test('an edited table is read from its edit, not the file; a token id outside the table is one line', async () => {
    const W = model.param('embed.W_E');
    const before0 = (await forward(forwardContext(model), [IDS])).logits!.data;
    const edited: Tensor = { shape: [...W.shape], data: W.data.map((x, i) => x * (1 + ((i % 5) - 2) * 0.1)) };
    await model.overrides.set('embed.W_E', edited);
    try {
      assert.equal(model.tables?.('embed.W_E'), undefined, 'not read from the file while edited');
      const got = (await forward(forwardContext(model), [IDS])).logits!.data;
      assert.notDeepEqual(got, before0);
    } finally {
      await model.overrides.clear('embed.W_E');
    }
    assert.deepEqual((await forward(forwardContext(model), [IDS])).logits!.data, before0);
    const rows = model.config.d_vocab;
    await assert.rejects(forward(forwardContext(model), [[1, rows]]), (e: unknown) => e instanceof LocusError && e.code === 'bad-input' && e.message === `token id ${rows} is outside the model's table of ${rows}`);
  });
});
