import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALPHAEDIT_GPT2_XL, mergeAlphaEditHparams } from '../../src/engine/methods/alphaedit/index';
import { alphaEditPresetFor } from '../../src/engine/methods/alphaedit/presets';
import { parseConfig } from '../../src/engine/model/config';

/** AlphaEdit's defaults per model shape and its hparams schema (no model is loaded). */
const gpt2 = (layers: number, embd: number, heads: number) => parseConfig({ model_type: 'gpt2', n_layer: layers, n_embd: embd, n_head: heads, n_positions: 1024, vocab_size: 50257 });

test('presets: the authors\' gpt2-xl file for GPT-2 XL; MEMIT\'s window with threshold 0.1 and L2 1 below published scale', () => {
  const xl = alphaEditPresetFor(gpt2(48, 1600, 25));
  assert.deepEqual(xl.hparams.layers, [13, 14, 15, 16, 17]);
  assert.equal(xl.hparams.nullspace_threshold, 2e-2);
  assert.equal(xl.hparams.L2, 10);
  assert.match(xl.source, /jianghoucheng\/AlphaEdit hparams\/AlphaEdit\/gpt2-xl\.json/);
  const small = alphaEditPresetFor(gpt2(8, 160, 5));
  assert.equal(small.hparams.nullspace_threshold, 0.1);
  assert.equal(small.hparams.L2, 1);
  assert.ok(small.hparams.layers.every((l) => l < 7), 'below the last block');
  assert.match(small.source, /as AlphaEdit: nullspace_threshold 0.1 and L2 1/);
});

test('schema: the reference\'s keys load without unknown-key notes; wrong values are one-line errors naming the key', () => {
  const file = { model_name: 'gpt2-xl', layers: [1, 2], nullspace_threshold: 0.02, L2: 1, rewrite_module_tmp: 'transformer.h.{}.mlp.c_proj', mom2_update_weight: 20000, layer_selection: 'all' };
  const { hparams, notes } = mergeAlphaEditHparams(ALPHAEDIT_GPT2_XL, file, 'gpt2-xl.json');
  assert.deepEqual(hparams.layers, [1, 2]);
  assert.equal(hparams.L2, 1);
  assert.deepEqual(notes.filter((n) => n.includes('unknown')), []);
  assert.throws(() => mergeAlphaEditHparams(ALPHAEDIT_GPT2_XL, { L2: -1 }, 'f.json'), /f\.json: "L2" must be a finite number > 0/);
  assert.throws(() => mergeAlphaEditHparams(ALPHAEDIT_GPT2_XL, { nullspace_threshold: 'x' }, 'f.json'), /"nullspace_threshold" must be a finite number > 0/);
  assert.match(mergeAlphaEditHparams(ALPHAEDIT_GPT2_XL, { nullspace_treshold: 1 }, 'f.json').notes.join('\n'), /unknown key "nullspace_treshold"/);
});
