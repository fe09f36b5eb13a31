import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { forward, forwardContext, loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { EditStack, frobenius } from '../../src/engine/methods/edit/edits';
import { targetLogprobs } from '../../src/engine/methods/evaluate/logprobs';
import { computeFineTune, FT_GPT2_XL, FT_GPT_J, ftWindow, mergeFtHparams } from '../../src/engine/methods/finetune/index';
import type { FtResult } from '../../src/engine/methods/finetune/index';
import { relFrobenius } from '../helpers/assertClose';
import { golden } from '../helpers/paths';

/**
 * Constrained fine-tuning parity with google/belief-localization apply_ft_to_model (golden ft*.json):
 * FT-1 at layer 1 and FT-5 over layers 0–4, hparams = gpt2-xl_constr.json + the request's overrides.
 * Tolerance (golden/README.md): 1e-2 relative on each ‖Δ‖, 1e-2 absolute on log-probs; per-epoch
 * losses within 1e-2·max(1, loss) (+ the 4-decimal rounding of the reference's log).
 * Invariants: the L∞ box |Δ| ≤ ε (up to float32 rounding of original ± ε) and an untouched model.
 */
interface Lp {
  prompt: string;
  target_new: { target: string; sum_logprob: number };
  target_true: { target: string; sum_logprob: number };
}
interface GoldenFt {
  request: { request: { prompt: string; subject: string; target_new: { str: string }; target_true: { str: string } } };
  hparams: Record<string, unknown>;
  pre: Lp[];
  post: Lp[];
  params: Array<{ param: string; delta: number[] | number[][]; delta_fro: number; delta_max_abs: number }>;
  losses: number[];
}

const NAME = 'gpt2-facts-trained';
const PROMPT = 'The Eiffel Tower is located in the city of';

/** HF transformer.h.{l}.mlp.c_proj.weight|bias → the canonical name. */
const canonical = (hf: string): string => hf.replace(/^transformer\.h\.(\d+)\.mlp\.c_proj\.weight$/, 'blocks.$1.mlp.W_out').replace(/^transformer\.h\.(\d+)\.mlp\.c_proj\.bias$/, 'blocks.$1.mlp.b_out');

async function lastLogits(model: LoadedModel): Promise<Float32Array> {
  const ids = model.tokenizer.encode(PROMPT).ids;
  const { logits } = await forward(forwardContext(model), [ids], { logits: 'last' });
  return Float32Array.from(logits!.data);
}

describe('constrained fine-tuning parity (gpt2-facts-trained)', () => {
  let model: LoadedModel;
  const runs = new Map<string, { ref: GoldenFt; result: FtResult; eps: number }>();
  let logits0: Float32Array;
  before(async () => {
    model = await loadModel(golden(NAME));
    logits0 = await lastLogits(model);
    for (const file of ['ft1_eiffel.json', 'ft5_eiffel.json']) {
      const ref = JSON.parse(fs.readFileSync(golden(NAME, file), 'utf8')) as GoldenFt;
      const { hparams } = mergeFtHparams(FT_GPT2_XL, ref.hparams);
      const result = await computeFineTune(model, [ref.request.request], { hparams });
      runs.set(file, { ref, result, eps: hparams.norm_constraint });
    }
  });
  after(async () => model.dispose());

  test('ftWindow: window 1 is the layer, window 5 is clipped at the model edges', () => {
    assert.deepEqual(ftWindow(1, 1, 6), [1]);
    assert.deepEqual(ftWindow(2, 5, 6), [0, 1, 2, 3, 4]);
    assert.deepEqual(ftWindow(0, 5, 6), [0, 1, 2]);
    assert.deepEqual(ftWindow(5, 5, 6), [3, 4, 5]);
    assert.deepEqual(ftWindow(27, 5, 28), [25, 26, 27]);
  });

  for (const file of ['ft1_eiffel.json', 'ft5_eiffel.json']) {
    test(`${file}: ‖Δ‖ per parameter, L∞ box and losses match the reference`, () => {
      const { ref, result, eps } = runs.get(file)!;
      const deltas = result.edit.deltas;
      assert.deepEqual(deltas.map((d) => d.param), ref.params.map((p) => canonical(p.param)), 'layer order, weight before bias');
      deltas.forEach((d, i) => {
        const want = ref.params[i];
        const fro = frobenius(d);
        const rel = Math.abs(fro - want.delta_fro) / want.delta_fro;
        assert.ok(rel <= 1e-2, `${d.param}: ‖Δ‖ ${fro} vs ${want.delta_fro} (relative ${rel.toExponential(3)})`);
        assert.ok(d.kind === 'dense');
        // Stronger than the README's ‖Δ‖ check: the whole Δ (Conv1D layout [in, out] = ours) within 1e-2.
        const err = relFrobenius(d.delta, want.delta.flat());
        assert.ok(err <= 1e-2, `${d.param}: ‖Δ − Δ_ref‖ / ‖Δ_ref‖ = ${err.toExponential(3)}`);
        // W = clamp(W, W0 − ε, W0 + ε) in float32: |Δ| exceeds ε only by float32 rounding of W0 ± ε.
        const w0 = model.param(d.param).data;
        let maxAbs = 0;
        d.delta.forEach((x, j) => {
          maxAbs = Math.max(maxAbs, Math.abs(x));
          assert.ok(Math.abs(x) <= eps + 2 ** -23 * (Math.abs(w0[j]) + eps), `${d.param}[${j}]: |Δ| ${Math.abs(x)} > ε ${eps}`);
        });
        assert.ok(Math.abs(maxAbs - want.delta_max_abs) <= 1e-2 * want.delta_max_abs, `${d.param}: max|Δ| ${maxAbs} vs ${want.delta_max_abs}`);
      });
      const losses = result.losses;
      assert.ok(Math.abs(losses.length - ref.losses.length) <= 1, `epochs ${losses.length} vs ${ref.losses.length}`);
      ref.losses.slice(0, losses.length).forEach((want, i) => {
        assert.ok(Math.abs(losses[i] - want) <= 1e-2 * Math.max(1, want) + 5e-5, `epoch ${i}: loss ${losses[i]} vs ${want}`);
      });
      assert.ok(losses[losses.length - 1] < 0.01, 'stops only after the loss fell below 0.01');
    });

    test(`${file}: pre- and post-edit log-probabilities match; revert is exact`, async () => {
      const { ref, result } = runs.get(file)!;
      const pairs = ref.pre.flatMap((p) => [{ prompt: p.prompt, target: p.target_new.target }, { prompt: p.prompt, target: p.target_true.target }]);
      const pre = await targetLogprobs(model, pairs);
      ref.pre.forEach((p, i) => {
        assert.ok(Math.abs(pre[2 * i].sum - p.target_new.sum_logprob) <= 1e-2, `pre new "${p.prompt}"`);
        assert.ok(Math.abs(pre[2 * i + 1].sum - p.target_true.sum_logprob) <= 1e-2, `pre true "${p.prompt}"`);
      });
      const stack = new EditStack(model);
      await stack.apply(result.edit);
      const post = await targetLogprobs(model, pairs);
      ref.post.forEach((p, i) => {
        assert.ok(Math.abs(post[2 * i].sum - p.target_new.sum_logprob) <= 1e-2, `post new "${p.prompt}": ${post[2 * i].sum} vs ${p.target_new.sum_logprob}`);
        assert.ok(Math.abs(post[2 * i + 1].sum - p.target_true.sum_logprob) <= 1e-2, `post true "${p.prompt}": ${post[2 * i + 1].sum} vs ${p.target_true.sum_logprob}`);
      });
      await stack.revertAll();
      const back = await targetLogprobs(model, pairs);
      back.forEach((b, i) => assert.equal(b.sum, pre[i].sum, 'bit-identical after revert'));
    });
  }

  test('the model is bit-identical after computeFineTune', async () => {
    const now = await lastLogits(model);
    assert.deepEqual(now, logits0);
  });

  test('hparams: reference keys merge, inapplicable ones are noted, embedding FT (layer -1) is refused', () => {
    const { hparams, notes } = mergeFtHparams(FT_GPT_J, { layers: [3, 4], lr: 1e-3, kl_factor: 0.5, rewrite_module_tmp: 'x', FT_subj_embeds: true });
    assert.deepEqual([hparams.layers, hparams.lr, hparams.num_steps, hparams.norm_constraint, hparams.weight_decay], [[3, 4], 1e-3, 25, 5e-5, 0]);
    assert.ok(notes.some((n) => n.includes('kl_factor')) && notes.some((n) => n.includes('rewrite_module_tmp')) && notes.some((n) => n.includes('FT_subj_embeds')));
    assert.throws(() => mergeFtHparams(FT_GPT_J, { layers: [-1] }), /layer -1/);
    assert.throws(() => mergeFtHparams(FT_GPT_J, { num_steps: 2.5 }), /positive integer/);
  });

  test('batching: one chunk sums the rows\' NLL; chunks are averaged (AverageMeter), each stepping before the next', async () => {
    const { ref } = runs.get('ft1_eiffel.json')!;
    const r1 = ref.request.request;
    const r2 = { ...r1, prompt: '{} is in' };
    const base = { ...mergeFtHparams(FT_GPT2_XL, ref.hparams).hparams, num_steps: 1 };
    const one = async (rs: (typeof r1)[], batch_size: number, lr = base.lr): Promise<number> => (await computeFineTune(model, rs, { hparams: { ...base, batch_size, lr } })).losses[0];
    const [a, b, both] = [await one([r1], 128), await one([r2], 128), await one([r1, r2], 128)];
    assert.ok(Math.abs(both - (a + b)) <= 1e-4 * both, `summed ${both} vs ${a} + ${b}`);
    // With a negligible lr the second chunk sees (almost) the original weights: the plain mean.
    const still = await one([r1, r2], 1, 1e-12);
    assert.ok(Math.abs(still - (a + b) / 2) <= 1e-4 * still, `averaged ${still} vs (${a} + ${b}) / 2`);
    // With the real lr the second chunk is scored after the first chunk's Adam step (ft_main.py's loop).
    const stepped = await one([r1, r2], 1);
    assert.ok(stepped < (a + b) / 2 - 0.1, `second chunk after the first one's step: ${stepped} vs ${(a + b) / 2}`);
  });

  test('Fact Erasure objective: loss = p(target), lowered inside the box, no early stop', async () => {
    const { ref } = runs.get('ft1_eiffel.json')!;
    const { hparams } = mergeFtHparams(FT_GPT2_XL, { ...ref.hparams, num_steps: 3 });
    const req = { ...ref.request.request, target_new: ref.request.request.target_true };
    const r = await computeFineTune(model, [req], { hparams, objective: 'erasure' });
    assert.ok(Math.abs(r.losses[0] - Math.exp(ref.pre[0].target_true.sum_logprob)) <= 1e-4, `p(" Paris") ${r.losses[0]}`);
    assert.ok(r.losses[r.losses.length - 1] < r.losses[0], `p falls: ${r.losses.join(', ')}`);
    for (const d of r.edit.deltas) if (d.kind === 'dense') for (const x of d.delta) assert.ok(Math.abs(x) <= hparams.norm_constraint * (1 + 1e-5));
  });

  test('cancellation throws LocusError("cancelled") and leaves the model unchanged', async () => {
    const { ref } = runs.get('ft1_eiffel.json')!;
    const { hparams } = mergeFtHparams(FT_GPT2_XL, ref.hparams);
    const ac = new AbortController();
    await assert.rejects(
      computeFineTune(model, [ref.request.request], { hparams, signal: ac.signal, onProgress: (p) => p.epoch === 2 && ac.abort() }),
      (e: Error & { code?: string }) => e.name === 'LocusError' && e.code === 'cancelled',
    );
    assert.deepEqual(await lastLogits(model), logits0);
  });
});
