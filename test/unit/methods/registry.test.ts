import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { LocusError } from '../../../src/engine/errors';
import { mergeHparams } from '../../../src/engine/methods/edit/hparamValues';
import { checkEditHparams, EDIT_METHOD_SPECS, EDIT_METHODS, editMethodList, forcingMethods, methodSpec } from '../../../src/engine/methods/registry/index';
import type { ModelConfig } from '../../../src/engine/model/config';
import { repoRoot } from '../../helpers/paths';

/** The method registry (issue 18 item 2): what runEdit, the CLI, the worker and the panels enumerate. */
describe('method registry', () => {
  // Only n_layers and the family matter to editLayers and the presets used here (the small-model presets).
  const config = { n_layers: 6, modelType: 'gpt2', d_model: 8, d_mlp: 32 } as unknown as ModelConfig;

  test('ROME, MEMIT, FT-1 and FT-5 are listed in that order (other methods may sit between them), each id once', () => {
    const seed = ['rome', 'memit', 'ft', 'ft5'];
    assert.deepEqual(EDIT_METHODS.filter((id) => seed.includes(id)), seed);
    assert.equal(new Set(EDIT_METHODS).size, EDIT_METHODS.length);
    const labels = new Map(editMethodList().map((m) => [m.id, m.label]));
    assert.deepEqual(seed.map((id) => labels.get(id)), ['ROME', 'MEMIT', 'FT-1', 'FT-5']);
    assert.deepEqual(forcingMethods().filter((id) => seed.includes(id)), ['rome', 'ft', 'ft5']);
    assert.throws(() => methodSpec('lora'), (e: unknown) => e instanceof LocusError && e.message === `method must be one of ${EDIT_METHODS.join(', ')}`);
  });

  test('the layers a job edits: ROME and FT-1 the layer, MEMIT and FT-5 a five-layer window clipped to the model', () => {
    const layers = (id: string, layer: number | undefined, raw: Record<string, unknown> = {}): number[] => {
      const spec = methodSpec(id);
      const merged = mergeHparams(spec.preset(config).hparams, raw, spec.schema, 'h').hparams;
      return spec.editLayers({ layer, raw, merged, config }).layers;
    };
    assert.deepEqual(layers('rome', 3), [3]);
    assert.deepEqual(layers('ft', 3), [3]);
    assert.deepEqual(layers('memit', 0), [0, 1, 2]);
    assert.deepEqual(layers('ft5', 5), [3, 4, 5]);
    assert.deepEqual(layers('memit', 3), [1, 2, 3, 4, 5]);
    // No --layer: the hparams file's layers (FT: its own, not the window).
    assert.deepEqual(layers('rome', undefined, { layers: [2] }), [2]);
    assert.deepEqual(layers('ft5', undefined, { layers: [1, 4] }), [1, 4]);
  });

  test('one schema-driven merge: every method refuses an empty layer list and a wrong type, naming the key and the file', () => {
    for (const spec of EDIT_METHOD_SPECS) {
      assert.throws(() => checkEditHparams(spec.id, { layers: [] }, 'hparams file h.json'), (e: unknown) => e instanceof LocusError && e.message === 'hparams file h.json: "layers" must be a non-empty list of layer indices ≥ 0 (got [])', spec.id);
      assert.throws(() => checkEditHparams(spec.id, { layers: '3' }, 'h'), /"layers" must be/, spec.id);
      assert.doesNotThrow(() => checkEditHparams(spec.id, { some_future_key: 1 }, 'h'), spec.id);
    }
    assert.throws(() => checkEditHparams('rome', { v_num_grad_steps: -5 }, 'h'), /"v_num_grad_steps" must be a positive integer \(got -5\)/);
    assert.throws(() => checkEditHparams('ft', { lr: 'fast' }, 'h'), /"lr" must be a finite number > 0/);
  });

  test('unknown and ignored keys become notes, with the same words as before the registry', () => {
    const memit = methodSpec('memit');
    const notes = mergeHparams(memit.preset(config).hparams, { context_template_length_params: [[5, 10]], layer_selection: 'random', foo: 1 }, memit.schema, 'h').notes;
    assert.deepEqual(notes, [
      'h: "context_template_length_params" is ignored (MEMIT samples its own context templates; --context-templates gives them)',
      'h: unknown key "foo" ignored',
      'h: layer_selection "random" has no effect (MEMIT edits every layer in "layers")',
    ]);
    const ft = methodSpec('ft');
    assert.deepEqual(mergeHparams(ft.preset(config).hparams, { kl_factor: 0.5 }, ft.schema, 'h').notes, ["h: kl_factor 0.5 has no effect: the reference's fine-tuning (ft_main.py execute_ft) has no KL term"]);
  });

  test('runEdit.ts names no method', () => {
    const text = fs.readFileSync(path.join(repoRoot, 'src/engine/methods/edit/runEdit.ts'), 'utf8').replace(/romeMetrics|RomeSuccess|scored\.rome\b/g, '');
    assert.doesNotMatch(text, /\b(rome|memit|ft5?|rrome|emmet|alphaedit)\b/i);
  });
});
