import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { EditStack, frobenius } from '../../src/engine/methods/edit/edits';
import { targetLogprobs } from '../../src/engine/methods/evaluate/logprobs';
import { mergeRomeHparams, ROME_GPT2_XL } from '../../src/engine/methods/rome/hparams';
import { computeRome } from '../../src/engine/methods/rome/index';
import type { RomeResult } from '../../src/engine/methods/rome/index';
import { relFrobenius } from '../helpers/assertClose';
import { golden } from '../helpers/paths';

/**
 * ROME parity with kmeng01/rome (golden rome_*.json) given the same fixed context templates and the
 * same C: k*, u, v, v* and ‖ΔW‖ within 2e-3 relative (golden/README.md: a float64 solve of an
 * ill-conditioned C moves u by up to 1e-3 against the reference's float32 inverse), post-edit
 * log-probs within 1e-3 absolute.
 */
interface GoldenRome {
  request: { request: { prompt: string; subject: string; target_new: { str: string }; target_true: { str: string } } };
  hparams: Record<string, unknown>;
  context_templates: string[];
  stats: { layers: Array<{ layer: number; mom2_moment: number[][] }> };
  edits: Array<{ u: number[]; v: number[]; k_star_mean_over_templates: number[]; v_star_target: number[]; dot_k_u: number; delta_w_fro: number }>;
  pre: Array<{ prompt: string; target_new: { target: string; sum_logprob: number }; target_true: { target: string; sum_logprob: number } }>;
  post: Array<{ prompt: string; target_new: { target: string; sum_logprob: number }; target_true: { target: string; sum_logprob: number } }>;
  v_optimization: Array<{ loss: number; nll: number }>;
}

for (const [name, file] of [['gpt2-tiny-trained', 'rome_space_needle.json'], ['gpt2-facts-trained', 'rome_eiffel.json']] as const) {
  describe(`ROME parity: ${name} ${file}`, () => {
    const ref = JSON.parse(fs.readFileSync(golden(name, file), 'utf8')) as GoldenRome;
    let model: LoadedModel;
    let result: RomeResult;
    before(async () => {
      model = await loadModel(golden(name));
      const { hparams } = mergeRomeHparams(ROME_GPT2_XL, ref.hparams);
      const C = Float64Array.from(ref.stats.layers[0].mom2_moment.flat());
      result = await computeRome(model, ref.request.request, { hparams, contextTemplates: ref.context_templates, secondMoment: async () => C });
    });
    after(async () => model.dispose());

    test('k*, u, v, v* and ΔW match the reference', () => {
      const got = result.details[0];
      const want = ref.edits[0];
      const checks: Array<[string, ArrayLike<number>, number[], number]> = [
        ['k*', got.kStar, want.k_star_mean_over_templates, 1e-4],
        ['u', got.u, want.u, 2e-3],
        ['v*', got.vStar, want.v_star_target, 2e-3],
        ['v', got.v, want.v, 2e-3],
      ];
      for (const [what, a, b, tol] of checks) {
        const err = relFrobenius(a, b);
        assert.ok(err <= tol, `${what}: relative error ${err.toExponential(3)} > ${tol}`);
      }
      assert.ok(Math.abs(got.dotKU - want.dot_k_u) <= 2e-3 * Math.abs(want.dot_k_u), `k·u ${got.dotKU} vs ${want.dot_k_u}`);
      const fro = frobenius(result.edit.deltas[0]);
      assert.ok(Math.abs(fro - want.delta_w_fro) <= 1e-3 * want.delta_w_fro, `‖ΔW‖ ${fro} vs ${want.delta_w_fro}`);
      assert.equal(result.details[0].steps.length, ref.v_optimization.length, 'same number of optimization steps (early stop included)');
    });

    test('pre- and post-edit log-probabilities match; reverting restores the model exactly', async () => {
      const pairs = ref.pre.flatMap((p) => [{ prompt: p.prompt, target: p.target_new.target }, { prompt: p.prompt, target: p.target_true.target }]);
      const pre = await targetLogprobs(model, pairs);
      ref.pre.forEach((p, i) => {
        assert.ok(Math.abs(pre[2 * i].sum - p.target_new.sum_logprob) <= 1e-3, `pre new "${p.prompt}"`);
        assert.ok(Math.abs(pre[2 * i + 1].sum - p.target_true.sum_logprob) <= 1e-3, `pre true "${p.prompt}"`);
      });
      const stack = new EditStack(model);
      await stack.apply(result.edit);
      const post = await targetLogprobs(model, pairs);
      ref.post.forEach((p, i) => {
        assert.ok(Math.abs(post[2 * i].sum - p.target_new.sum_logprob) <= 1e-3, `post new "${p.prompt}": ${post[2 * i].sum} vs ${p.target_new.sum_logprob}`);
        assert.ok(Math.abs(post[2 * i + 1].sum - p.target_true.sum_logprob) <= 1e-3, `post true "${p.prompt}": ${post[2 * i + 1].sum} vs ${p.target_true.sum_logprob}`);
      });
      await stack.revertAll();
      const back = await targetLogprobs(model, pairs);
      back.forEach((b, i) => assert.equal(b.sum, pre[i].sum, 'bit-identical after revert'));
    });
  });
}
