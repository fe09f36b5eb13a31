import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bothContributions, forwardContext, headPatch, loadModel, patchedLogits, patchMetric, patchRuns, patchSite, rowsAt, runPatching } from '../../src/engine/index';
import type { LoadedModel, PatchRuns, SitePatch } from '../../src/engine/index';
import { golden } from '../helpers/paths';

/** GPT-2 facts-trained (6 layers, 4 heads): " Paris" for the Eiffel Tower, " Rome" for the Colosseum; both subjects are 5 tokens. */
const REQ = { prompt: 'The Eiffel Tower is located in the city of', subject: 'The Eiffel Tower', counterfactualSubject: 'The Colosseum', answer: 'Paris', counterfactualAnswer: 'Rome' };

describe('activation patching (gpt2-facts-trained, Eiffel Tower → Colosseum)', () => {
  let model: LoadedModel;
  let runs: PatchRuns;
  let paris: number;
  let rome: number;
  const m = (logits: Float32Array): number => patchMetric(logits, paris, rome, 'logit-diff');
  before(async () => {
    model = await loadModel(golden('gpt2-facts-trained'));
    runs = await patchRuns(model, REQ, true);
    paris = model.tokenizer.encodeContinuation(' Paris').ids[0];
    rome = model.tokenizer.encodeContinuation(' Rome').ids[0];
  });
  after(async () => model.dispose());

  /** Every position's block output at every layer, taken from `source`. */
  const everything = (source: PatchRuns['clean']): SitePatch[] => {
    const T = runs.cleanIds.length;
    const all = Array.from({ length: T }, (_, t) => t);
    return Array.from({ length: model.config.n_layers }, (_, l) => ({ site: patchSite('resid', l), layer: l, positions: all, values: rowsAt(source.acts.get(patchSite('resid', l))!, all) }));
  };

  test('restoring every layer at every position gives the clean metric exactly; restoring none gives the corrupted one', async () => {
    const clean = m(runs.clean.logits!.data);
    const corrupted = m(runs.corrupted.logits!.data);
    assert.ok(clean > 5 && corrupted < -5, `clean ${clean}, corrupted ${corrupted}`);
    const ctx = forwardContext(model);
    const [all, none] = await patchedLogits(ctx, runs.corrupted, [everything(runs.clean), []]);
    assert.equal(m(all), clean);
    assert.equal(m(none), corrupted);
    // Noising: the clean run with every corrupted state is the corrupted run; with none, the clean one.
    const [allNoised, noneNoised] = await patchedLogits(ctx, runs.clean, [everything(runs.corrupted), []]);
    assert.equal(m(allNoised), corrupted);
    assert.equal(m(noneNoised), clean);
  });

  test('the grid is normalised (clean 1, corrupted 0): the last token at the last layer restores everything, pre-subject tokens nothing', async () => {
    const r = await runPatching(model, { ...REQ, kinds: ['resid', 'mlp'] });
    const g = r.grids.resid!.effect;
    const T = r.tokens.length;
    assert.equal(g[T - 1][5], 1);
    assert.deepEqual(r.subjectRange, [0, 5]);
    assert.equal(r.cells, 2 * T * 6);
    // The MLP at layer 0 on the last subject token carries most of the fact (its early-site signature).
    assert.ok(r.effectByLayer.mlp![0] > 0.5, `mlp layer 0 effect ${r.effectByLayer.mlp![0]}`);
    const noised = await runPatching(model, { ...REQ, kinds: ['resid'], direction: 'noise' });
    assert.equal(noised.grids.resid!.effect[T - 1][5], 0);
  });

  test('head contributions sum to the attention output; patching all heads at (t, l) = patching attn.out there (1e-5)', async (t0) => {
    const D = model.config.d_model;
    const H = model.config.n_heads;
    const T = runs.cleanIds.length;
    const ctx = forwardContext(model);
    let maxSumErr = 0;
    const sets: SitePatch[][] = [];
    for (let l = 0; l < model.config.n_layers; l++) {
      const bO = model.param(`blocks.${l}.attn.b_O`).data;
      const c = bothContributions(model, runs, l, 0);
      const attnClean = runs.clean.acts.get(`blocks.${l}.attn.out`)!.data;
      const attnCorrupt = runs.corrupted.acts.get(`blocks.${l}.attn.out`)!.data;
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < D; i++) {
          let s = bO[i];
          for (let h = 0; h < H; h++) s += c.clean[h][t][i];
          maxSumErr = Math.max(maxSumErr, Math.abs(s - attnClean[t * D + i]));
        }
      }
      // All heads at once: one head patch after another, each on the previous value.
      for (const t of [1, 4, T - 1]) {
        let v: Float32Array = attnCorrupt.slice(t * D, (t + 1) * D);
        for (let h = 0; h < H; h++) v = headPatch(l, t, v, c.corrupted[h][t], c.clean[h][t]).values.data;
        sets.push([{ site: patchSite('attn', l), layer: l, positions: [t], values: { shape: [1, 1, D], data: v } }]);
        sets.push([{ site: patchSite('attn', l), layer: l, positions: [t], values: rowsAt(runs.clean.acts.get(patchSite('attn', l))!, [t]) }]);
      }
    }
    assert.ok(maxSumErr < 1e-5, `Σ_h z_h W_O^h + b_O vs attn.out: ${maxSumErr}`);
    const logits = await patchedLogits(ctx, runs.corrupted, sets);
    const span = m(runs.clean.logits!.data) - m(runs.corrupted.logits!.data);
    let maxEffectErr = 0;
    for (let i = 0; i < sets.length; i += 2) maxEffectErr = Math.max(maxEffectErr, Math.abs(m(logits[i]) - m(logits[i + 1])) / Math.abs(span));
    t0.diagnostic(`max |Σ_h c_h + b_O − attn.out| = ${maxSumErr.toExponential(2)}; max normalised effect difference = ${maxEffectErr.toExponential(2)}`);
    assert.ok(maxEffectErr < 1e-5, `all heads vs attn.out, normalised effect: ${maxEffectErr}`);
  });

  test('the head grid runs every (token, layer, head) from the subject on', async () => {
    const r = await runPatching(model, { ...REQ, kinds: ['attn'], heads: true });
    const heads = r.heads!;
    assert.equal(heads.length, r.tokens.length);
    assert.equal(heads[0].length, 6);
    assert.equal(heads[0][0].length, 4);
    for (const row of heads) for (const cell of row) for (const v of cell) assert.ok(Number.isFinite(v));
  });

  test('a counterfactual subject of another token length is one clear error naming both counts', async () => {
    await assert.rejects(runPatching(model, { ...REQ, counterfactualSubject: 'Big Ben' }), /"Big Ben" has 2 tokens in the prompt and "The Eiffel Tower" has 5/);
  });
});
