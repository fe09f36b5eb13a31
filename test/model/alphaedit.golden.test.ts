import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import type { AlphaEditHparams, AlphaEditResult } from '../../src/engine/methods/alphaedit/index';
import { ALPHAEDIT_GPT2_XL, computeAlphaEdit, mergeAlphaEditHparams, projectCache } from '../../src/engine/methods/alphaedit/index';
import { EditStack, frobenius } from '../../src/engine/methods/edit/edits';
import { targetLogprobs } from '../../src/engine/methods/evaluate/logprobs';
import type { RewriteRequest } from '../../src/engine/methods/rome/index';
import { corpusFromTextFile } from '../../src/engine/methods/stats/corpus';
import { computeSecondMoment } from '../../src/engine/methods/stats/secondMoment';
import { maxAbsDiff, relFrobenius } from '../helpers/assertClose';
import { golden } from '../helpers/paths';

/**
 * AlphaEdit parity with jianghoucheng/AlphaEdit apply_AlphaEdit_to_model (golden alphaedit_two.json: memit_two's
 * batch, layers 1–2, L2 = 1; alphaedit_seq.json: that batch, then two more requests on the edited model with
 * the first batch's cache_c and the same P). C0 is computed here over stats_corpus.txt (the reference's
 * layer_stats counterpart). Tolerances (golden/README.md, alphaedit_*.json): null-space rank exact, P 1e-4
 * absolute, ΔW 1e-3 relative (Frobenius), ‖ΔW‖ 1e-4 relative, log-probs 1e-3 absolute; z and keys as in
 * the MEMIT parity test (2e-3 and 1e-3 relative).
 */
interface GoldenPrompt {
  prompt: string;
  target_new: { target: string; sum_logprob: number };
  target_true: { target: string; sum_logprob: number };
}
interface GoldenLayer {
  layer: number;
  delta_w: number[][];
  delta_w_fro: number;
  keys: number[][];
  cache_keys_added: number[][];
  resid: number[][];
  cache_c_fro_before: number;
  cache_c_fro_after: number;
  null_space_residual: number;
}
interface GoldenBatch {
  requests: RewriteRequest[];
  z: number[][];
  layers: GoldenLayer[];
  post: GoldenPrompt[][];
}
interface GoldenProjection {
  layer: number;
  rank: number;
  singular_values: number[];
  mom2_moment?: number[][];
  P?: number[][];
}
interface GoldenAlphaEdit {
  hparams: Record<string, unknown>;
  context_templates: string[][];
  stats: { counts: Record<string, number> };
  projection: GoldenProjection[];
  batches: GoldenBatch[];
  pre: GoldenPrompt[][];
  post: GoldenPrompt[][];
}

const read = (f: string): GoldenAlphaEdit => JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', f), 'utf8')) as GoldenAlphaEdit;
const two = read('alphaedit_two.json');
const seq = read('alphaedit_seq.json');

/** Every prompt of the goldens' `pre` list as (prompt, target) pairs: target_new then target_true. */
function pairsOf(prompts: GoldenPrompt[]): Array<{ prompt: string; target: string }> {
  return prompts.flatMap((p) => [
    { prompt: p.prompt, target: p.target_new.target },
    { prompt: p.prompt, target: p.target_true.target },
  ]);
}

async function logprobError(model: LoadedModel, want: GoldenPrompt[][], when: string): Promise<number> {
  const prompts = want.flat();
  const got = await targetLogprobs(model, pairsOf(prompts));
  let worst = 0;
  prompts.forEach((p, i) => {
    for (const [k, w] of [[2 * i, p.target_new], [2 * i + 1, p.target_true]] as const) {
      const diff = Math.abs(got[k].sum - w.sum_logprob);
      worst = Math.max(worst, diff);
      assert.ok(diff <= 1e-3, `${when} "${p.prompt}" → "${w.target}": ${got[k].sum} vs ${w.sum_logprob}`);
    }
  });
  console.log(`# ${when}: max |Δ log p| ${worst.toExponential(2)}`);
  return worst;
}

function checkBatch(result: AlphaEditResult, want: GoldenBatch, name: string): void {
  want.z.forEach((z, r) => {
    const err = relFrobenius(result.zs[r], z);
    console.log(`# ${name} z[${r}]: relative error ${err.toExponential(2)}`);
    assert.ok(err <= 2e-3, `${name} z[${r}]: ${err}`);
  });
  assert.deepEqual(result.edit.deltas.map((d) => d.param), ['blocks.1.mlp.W_out', 'blocks.2.mlp.W_out']);
  want.layers.forEach((w, i) => {
    const got = result.layers[i];
    assert.equal(got.layer, w.layer);
    const keyErr = Math.max(...w.keys.map((k, r) => relFrobenius(got.keys[r], k)));
    const cacheKeyErr = Math.max(...w.cache_keys_added.map((k, r) => relFrobenius(got.cacheKeys[r], k)));
    const residErr = Math.max(...w.resid.map((x, r) => relFrobenius(got.resid[r], x)));
    const d = result.edit.deltas[i];
    assert.ok(d.kind === 'dense');
    assert.deepEqual(d.shape, [256, 64]);
    const dwErr = relFrobenius(d.delta, w.delta_w.flat());
    const fro = frobenius(d);
    const froErr = Math.abs(fro - w.delta_w_fro) / w.delta_w_fro;
    const cacheC = result.state.cacheC.get(w.layer)!;
    const cacheFro = Math.hypot(...cacheC);
    console.log(
      `# ${name} layer ${w.layer}: keys ${keyErr.toExponential(2)}, K′ ${cacheKeyErr.toExponential(2)}, R ${residErr.toExponential(2)}, ` +
        `ΔW ${dwErr.toExponential(2)} relative, ‖ΔW‖ ${fro.toFixed(4)} vs ${w.delta_w_fro.toFixed(4)} (${froErr.toExponential(2)}), ` +
        `‖cache_c‖ ${cacheFro.toFixed(3)} vs ${w.cache_c_fro_after.toFixed(3)}, ‖ΔW − PΔW‖/‖ΔW‖ ${got.nullSpaceResidual.toExponential(2)}`,
    );
    assert.ok(keyErr <= 1e-3, `${name} layer ${w.layer} keys: ${keyErr}`);
    assert.ok(cacheKeyErr <= 1e-3, `${name} layer ${w.layer} K′: ${cacheKeyErr}`);
    assert.ok(residErr <= 2e-3, `${name} layer ${w.layer} R: ${residErr}`);
    assert.ok(dwErr <= 1e-3, `${name} layer ${w.layer} ΔW: relative error ${dwErr} > 1e-3`);
    assert.ok(froErr <= 1e-4, `${name} layer ${w.layer} ‖ΔW‖ ${fro} vs ${w.delta_w_fro}`);
    assert.ok(Math.abs(cacheFro - w.cache_c_fro_after) <= 1e-3 * w.cache_c_fro_after, `${name} layer ${w.layer} ‖cache_c‖ ${cacheFro} vs ${w.cache_c_fro_after}`);
    assert.ok(got.nullSpaceResidual <= 1e-6, `ΔW leaves the null space: ${got.nullSpaceResidual}`);
    const P = result.state.projections.get(w.layer)!.P;
    const projected = relFrobenius(result.state.projectedCache.get(w.layer)!, projectCache(P, cacheC, 256));
    assert.ok(projected <= 1e-12, `the kept P cache_c P is off the product by ${projected}`);
  });
}

describe('AlphaEdit parity: gpt2-facts-trained alphaedit_two.json and alphaedit_seq.json', () => {
  let model: LoadedModel;
  let hparams: AlphaEditHparams;
  let batch1: AlphaEditResult;
  const covs = new Map<number, Float64Array>();
  before(async () => {
    model = await loadModel(golden('gpt2-facts-trained'));
    const merged = mergeAlphaEditHparams(ALPHAEDIT_GPT2_XL, two.hparams);
    hparams = merged.hparams;
    assert.deepEqual(merged.notes.filter((n) => n.includes('unknown')), [], 'every key of the reference file is known');
    const corpus = corpusFromTextFile(golden('gpt2-facts-trained', 'stats_corpus.txt'));
    for (const [l, s] of await computeSecondMoment(model, hparams.layers, corpus)) covs.set(l, s.mom2);
    batch1 = await computeAlphaEdit(model, two.batches[0].requests, { hparams, contextTemplates: two.context_templates, secondMoment: async (l) => covs.get(l)! });
  });
  after(async () => model.dispose());

  test('hparams: the golden run is the gpt2-xl preset with its overrides (L2 = 1)', () => {
    assert.deepEqual(hparams.layers, [1, 2]);
    assert.equal(hparams.L2, 1);
    assert.equal(hparams.nullspace_threshold, 0.02);
    assert.equal(ALPHAEDIT_GPT2_XL.L2, 10);
  });

  test('projection: C0, the null-space rank (exact) and P (1e-4 absolute) per layer', () => {
    for (const w of two.projection) {
      const got = batch1.state.projections.get(w.layer)!;
      const c0Err = relFrobenius(covs.get(w.layer)!, w.mom2_moment!.flat());
      const svErr = maxAbsDiff(got.singularValues, w.singular_values);
      const pErr = maxAbsDiff(got.P, w.P!.flat());
      console.log(`# layer ${w.layer}: C0 ${c0Err.toExponential(2)} relative; rank ${got.rank} vs ${w.rank}; singular values max |Δ| ${svErr.toExponential(2)}; P max |Δ| ${pErr.toExponential(2)}`);
      assert.ok(c0Err <= 1e-5, `C0 at layer ${w.layer}: ${c0Err}`);
      assert.equal(got.rank, w.rank, `rank at layer ${w.layer}`);
      assert.ok(svErr <= 1e-5, `singular values at layer ${w.layer}: ${svErr}`);
      assert.ok(pErr <= 1e-4, `P at layer ${w.layer}: ${pErr}`);
    }
    assert.deepEqual(two.projection.map((p) => p.rank), [200, 206]);
    assert.deepEqual(seq.projection.map((p) => p.rank), [200, 206]);
  });

  test('alphaedit_two: z, keys, K′, ΔW per layer, cache_c', () => {
    checkBatch(batch1, two.batches[0], 'two');
    assert.equal(batch1.state.batches, 1);
  });

  test('alphaedit_two: pre- and post-edit log-probabilities; reverting restores the model exactly', async () => {
    const pairs = pairsOf(two.pre.flat());
    const pre = await targetLogprobs(model, pairs);
    await logprobError(model, two.pre, 'two pre');
    const stack = new EditStack(model);
    await stack.apply(batch1.edit);
    await logprobError(model, two.post, 'two post');
    await stack.revertAll();
    (await targetLogprobs(model, pairs)).forEach((b, i) => assert.equal(b.sum, pre[i].sum, 'bit-identical after revert'));
  });

  test('alphaedit_seq: batch 1 equals alphaedit_two; batch 2 on the edited model with batch 1\'s cache_c and the same P', async () => {
    assert.deepEqual(seq.batches[0].requests, two.batches[0].requests);
    checkBatch(batch1, seq.batches[0], 'seq batch 1');
    await logprobError(model, seq.pre, 'seq pre');
    const stack = new EditStack(model);
    try {
      await stack.apply(batch1.edit);
      await logprobError(model, seq.batches[0].post, 'seq after batch 1');
      const batch2 = await computeAlphaEdit(model, seq.batches[1].requests, { hparams, contextTemplates: seq.context_templates, secondMoment: () => Promise.reject(new Error('P is not recomputed')) }, batch1.state);
      assert.equal(batch2.state.projections, batch1.state.projections, 'the same P');
      assert.equal(batch2.state.batches, 2);
      seq.batches[1].layers.forEach((w) => {
        const before = Math.hypot(...batch1.state.cacheC.get(w.layer)!);
        assert.ok(Math.abs(before - w.cache_c_fro_before) <= 1e-3 * w.cache_c_fro_before, `cache_c before batch 2: ${before} vs ${w.cache_c_fro_before}`);
      });
      checkBatch(batch2, seq.batches[1], 'seq batch 2');
      await stack.apply(batch2.edit);
      await logprobError(model, seq.post, 'seq after batch 2');
    } finally {
      await stack.revertAll();
    }
  });
});
