import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { computeValueStar, valueStarKey } from '../../src/engine/methods/rome/computeValue';
import { computeValueStars, lockstepFits } from '../../src/engine/methods/rome/valueStars';
import type { ValueStarItem } from '../../src/engine/methods/rome/valueStars';
import { romePresetFor } from '../../src/engine/methods/edit/presets/choosePreset';
import { EditReuse } from '../../src/engine/methods/edit/editReuse';
import { lockstepGroups } from '../../src/engine/methods/study/lockstep';

/**
 * Several facts' v* in lockstep (one batched graph, each fact its own δ, Adam state and early stop)
 * against computeValueStar one fact at a time, on the embedded model: the same number of steps, the
 * same losses, v* equal to 1e-5 relative (float error: the batch pads rows to a common width). Facts
 * with 1-, 2- and 3-token targets, prompts with text after the subject; 40 steps at a larger lr so that
 * some stop early (loss < 0.05) while others run on.
 */
describe('lockstep v* equals v* one fact at a time', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadModel('default');
  });
  after(async () => {
    await model.dispose();
  });

  const facts = [
    { prompt: 'The mother tongue of {} is', subject: 'Danielle Darrieux', target: ' English' },
    { prompt: '{} is located in the continent of', subject: 'Angola', target: ' Europe' },
    { prompt: '{}, that originated in', subject: 'Delta Goodrem', target: ' the United Kingdom' },
  ];
  const templates = ['{}', 'The city. {}', 'I went to the market and then. {}', 'Because. {}'];

  for (const layer of [1, 3]) {
    test(`layer ${layer}: steps, losses and v*`, async () => {
      const h = { ...romePresetFor(model.config).hparams, layers: [layer], v_num_grad_steps: 40, v_lr: 0.5 };
      const items: ValueStarItem[] = facts.map((f) => ({ layer, prompt: f.prompt, subject: f.subject, targetIds: model.tokenizer.encodeContinuation(f.target).ids, templates, hparams: h }));
      assert.ok(items.every((it) => lockstepFits(model, it)));
      const many = await computeValueStars(model, items);
      const steps = new Set<number>();
      for (const [i, it] of items.entries()) {
        const one = await computeValueStar(model, layer, it.prompt, it.subject, it.targetIds, it.templates, h);
        assert.equal(many[i].steps.length, one.steps.length, `fact ${i}: steps`);
        steps.add(one.steps.length);
        one.steps.forEach((s, k) => assert.ok(Math.abs(s.loss - many[i].steps[k].loss) <= 1e-5 * Math.max(1, Math.abs(s.loss)), `fact ${i} step ${k}: loss ${s.loss} vs ${many[i].steps[k].loss}`));
        const scale = Math.max(...Array.from(one.vStar, Math.abs));
        const err = Math.max(...Array.from(one.vStar, (v, j) => Math.abs(v - many[i].vStar[j])));
        assert.ok(err <= 1e-5 * scale, `fact ${i}: max |Δv*| ${err} > 1e-5 × ${scale}`);
        assert.deepEqual(Array.from(many[i].vInit), Array.from(one.vInit), `fact ${i}: v_init is the same forward pass`);
      }
      assert.ok(steps.size > 1, `facts stop at different steps (${[...steps].join(', ')}): the lockstep drops finished facts`);
    });
  }

  test('computeValueStar takes a shared v* from EditReuse under its key, and groups keep one layer', async () => {
    const h = { ...romePresetFor(model.config).hparams, layers: [1], v_num_grad_steps: 3 };
    const it: ValueStarItem = { layer: 1, prompt: facts[0].prompt, subject: facts[0].subject, targetIds: model.tokenizer.encodeContinuation(facts[0].target).ids, templates, hparams: h };
    const reuse = new EditReuse();
    const planted = { vStar: new Float64Array(model.config.d_model).fill(7), vInit: new Float64Array(model.config.d_model), steps: [] };
    void reuse.get(valueStarKey(1, it.prompt, it.subject, it.targetIds, templates, h, false), () => Promise.resolve(planted));
    assert.equal(await computeValueStar(model, 1, it.prompt, it.subject, it.targetIds, templates, h, undefined, false, undefined, reuse), planted);
    // Another step count is another key: computed, not taken.
    const other = await computeValueStar(model, 1, it.prompt, it.subject, it.targetIds, templates, { ...h, v_num_grad_steps: 2 }, undefined, false, undefined, reuse);
    assert.notEqual(other, planted);
    const groups = lockstepGroups(model, [it, { ...it, layer: 3 }, { ...it, subject: 'Angola' }]);
    assert.ok(groups.every((g) => new Set(g.map((x) => x.layer)).size === 1));
    assert.equal(groups.flat().length, 3);
  });
});
