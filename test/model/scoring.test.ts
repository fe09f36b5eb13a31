import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadModel, LocusError } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { forward } from '../../src/engine/interp/forward';
import { forwardContext } from '../../src/engine/interp/probe';
import { logSoftmax } from '../../src/engine/interp/topk';
import { canaryIds, canaryPerplexity } from '../../src/engine/methods/edit/canary';
import { targetLogprobs } from '../../src/engine/methods/evaluate/logprobs';
import { promptScores } from '../../src/engine/methods/evaluate/promptScores';
import { greedyContinuations } from '../../src/engine/methods/problems/generationCheck';
import { teacherForced } from '../../src/engine/methods/problems/tokenAccuracy';
import { golden } from '../helpers/paths';

/**
 * Teacher-forced scoring with the head only at the positions read (forward's `logitsAt`, issue 17)
 * against the whole-vocabulary log-softmax at every position of a one-row forward pass (the path
 * before): the log-probs to float32 rounding, the same argmax tokens, the same canary perplexity.
 */
const PAIRS = [
  { prompt: 'The Eiffel Tower is located in the city of', target: 'Paris' },
  { prompt: 'Danielle Darrieux speaks', target: ' French' },
  { prompt: 'The mother tongue of Danielle Darrieux is', target: 'English language' },
  { prompt: 'Toko Yasuda plays the', target: 'guitar' },
];
/** Measured 0 (the head's MatMul gives each row the same floats whatever the number of rows); float32 rounding of |logits| ≲ 30 allowed. */
const LOGPROB_TOL = 1e-5;

describe('teacher-forced scoring at the read positions only (gpt2-facts-trained)', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadModel(golden('gpt2-facts-trained'));
  });
  after(async () => model.dispose());

  /** One pair at a time, logits at every position, logSoftmax of each row. */
  async function reference(prompt: string, target: string): Promise<{ lps: number[]; argmax: number[]; firstMax: number }> {
    const V = model.config.d_vocab;
    const p = model.tokenizer.encode(prompt).ids;
    const t = model.tokenizer.encodeContinuation(/^\s/.test(target) ? target : ' ' + target).ids;
    const { logits } = await forward(forwardContext(model), [[...p, ...t.slice(0, -1)]], { logits: 'all' }); // [1, pos, d_vocab]
    const rows = t.map((_, k) => logits!.data.subarray((p.length - 1 + k) * V, (p.length + k) * V));
    const argmax = rows.map((r) => r.indexOf(Math.max(...r)));
    return { lps: t.map((id, k) => logSoftmax(rows[k])[id]), argmax, firstMax: logSoftmax(rows[0])[argmax[0]] };
  }

  test(`teacherForced and targetLogprobs: log-probs within ${LOGPROB_TOL}, the same argmax tokens`, async () => {
    const tf = await teacherForced(model, PAIRS);
    const tl = await targetLogprobs(model, PAIRS);
    let worst = 0;
    for (let i = 0; i < PAIRS.length; i++) {
      const ref = await reference(PAIRS[i].prompt, PAIRS[i].target);
      assert.equal(tf[i].tokenLogprobs.length, ref.lps.length);
      ref.lps.forEach((x, k) => (worst = Math.max(worst, Math.abs(tf[i].tokenLogprobs[k] - x), Math.abs(tl[i].tokenLogprobs[k] - x))));
      assert.deepEqual(tf[i].argmaxIds, ref.argmax);
      assert.equal(tl[i].argmax, ref.argmax[0]);
      worst = Math.max(worst, Math.abs(Math.log(tl[i].argmaxProb) - ref.firstMax));
    }
    assert.ok(worst <= LOGPROB_TOL, `max |Δ log-prob| ${worst}`);
  });

  test('canary perplexity equals the whole-vocabulary computation (1e-6 relative)', async () => {
    const ids = canaryIds(model);
    const V = model.config.d_vocab;
    const span = Math.min(model.config.n_ctx, ids.length);
    let nll = 0;
    let n = 0;
    for (let start = 0; start < ids.length - 1; start += span) {
      const chunk = ids.slice(start, start + span);
      if (chunk.length < 2) break;
      const { logits } = await forward(forwardContext(model), [chunk], { logits: 'all' }); // [1, pos, d_vocab]
      for (let t = 0; t + 1 < chunk.length; t++, n++) nll -= logSoftmax(logits!.data.subarray(t * V, (t + 1) * V))[chunk[t + 1]];
    }
    const ref = Math.exp(nll / n);
    const got = await canaryPerplexity(model);
    assert.ok(Math.abs(got - ref) <= 1e-6 * ref, `${got} vs ${ref}`);
  });

  test(`promptScores (one cache per case): teacherForced's log-probs within ${LOGPROB_TOL}, its argmax, greedyContinuations' texts`, async () => {
    const prompts = PAIRS.map((p) => p.prompt);
    const targets = [' Paris', 'English language', 'x'];
    const got = await promptScores(model, prompts, targets, { continuations: true });
    const ref = await teacherForced(model, prompts.flatMap((prompt) => targets.map((target) => ({ prompt, target }))));
    let worst = 0;
    got.scores.flat().forEach((s, i) => {
      assert.deepEqual(s.targetIds, ref[i].targetIds);
      assert.deepEqual(s.argmaxIds, ref[i].argmaxIds);
      s.tokenLogprobs.forEach((x, k) => (worst = Math.max(worst, Math.abs(x - ref[i].tokenLogprobs[k]))));
    });
    assert.ok(worst <= LOGPROB_TOL, `max |Δ log-prob| ${worst}`);
    assert.deepEqual(got.continuations, await greedyContinuations(model, prompts, ref[0].targetIds.length));
  });

  test('logitsAt refuses a position outside its row', async () => {
    await assert.rejects(forward(forwardContext(model), [[1, 2, 3], [4]], { logitsAt: [[2], [1]] }), (e: unknown) => e instanceof LocusError && /row 1 has 1 tokens/.test(e.message));
  });
});
