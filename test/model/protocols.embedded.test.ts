import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { casePrompts, defaultDatasetPath, EditStack, factCaseOf, generateText, loadCounterFact, loadModel, runEdit } from '../../src/engine/index';
import type { EditOutcome, FactCase, LoadedModel } from '../../src/engine/index';
import { forward } from '../../src/engine/interp/forward';
import { forwardContext } from '../../src/engine/interp/probe';
import { logSoftmax } from '../../src/engine/interp/topk';
import { targetLogprobs } from '../../src/engine/methods/evaluate/logprobs';
import { GENERATION_EXTRA_TOKENS, greedyContinuations } from '../../src/engine/methods/problems/generationCheck';
import { editScores, recovered } from '../../src/engine/methods/problems/metrics';
import { METRIC_PROTOCOLS } from '../../src/engine/methods/problems/protocols';
import { teacherForced } from '../../src/engine/methods/problems/tokenAccuracy';
import { tempDir } from '../helpers/paths';

/**
 * Every protocol hand-checked on one real edit of the embedded model: "Google Patents, a product
 * developed by → Microsoft" (case 8024), ROME at layer 3, where the protocols disagree (measured: the
 * paper's paraphrase score 0.16, ROME's paraphrase success 0, token accuracy 0, generation 0.5 — one
 * paraphrase says " Microsoft" a few tokens later than the next token).
 * The references here are computed one prompt at a time, unbatched, from the logits and from
 * generateText, not from the code under test.
 */
const CASE_ID = 8024;
const LAYER = 3;
/** Scores are fractions of a handful of prompts: equal up to rounding of the means. */
const TOL = 1e-12;

interface HandProbe {
  meanNew: number;
  meanTrue: number;
  sumNew: number;
  ids: number[];
  argmaxNew: number[];
  argmaxTrue: number[];
  continuation: string;
}

/** One prompt: teacher-forced log-probs and argmax of both targets from a single-row forward, and a greedy continuation. */
async function handProbe(model: LoadedModel, prompt: string, target: string, truth: string): Promise<HandProbe> {
  const V = model.config.d_vocab;
  const one = async (t: string) => {
    const p = model.tokenizer.encode(prompt).ids;
    const ids = model.tokenizer.encodeContinuation(t).ids;
    const { logits } = await forward(forwardContext(model), [[...p, ...ids.slice(0, -1)]], { logits: 'all' }); // [1, pos, d_vocab]
    const rows = ids.map((_, k) => Array.from(logits!.data.subarray((p.length - 1 + k) * V, (p.length + k) * V)));
    const lps = ids.map((id, k) => logSoftmax(Float32Array.from(rows[k]))[id]);
    return { ids, lps, argmax: rows.map((r) => r.indexOf(Math.max(...r))) };
  };
  const n = await one(target);
  const t = await one(truth);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const gen = await generateText(model, prompt, { maxNewTokens: n.ids.length + GENERATION_EXTRA_TOKENS, topK: 1, seed: 0 });
  return { meanNew: sum(n.lps) / n.lps.length, meanTrue: sum(t.lps) / t.lps.length, sumNew: sum(n.lps), ids: n.ids, argmaxNew: n.argmax, argmaxTrue: t.argmax, continuation: gen.text };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('edit metrics under named protocols, on a real edit of the embedded model', () => {
  let model: LoadedModel;
  let tmp: string;
  let fact: FactCase;
  let out: EditOutcome;
  const pre: Array<HandProbe & { kind: string }> = [];
  const post: Array<HandProbe & { kind: string }> = [];
  before(async () => {
    model = await loadModel('default');
    tmp = tempDir('locus-protocols-');
    fact = factCaseOf(loadCounterFact(defaultDatasetPath()).find((x) => x.case_id === CASE_ID)!);
    out = await runEdit(model, { method: 'rome', layer: LAYER, problem: 'error-injection', cases: [fact], cacheDir: path.join(tmp, 'stats') });
    const target = ' ' + fact.target_new.str.trimStart();
    const truth = ' ' + fact.target_true.str.trimStart();
    for (const { kind, prompt } of casePrompts(fact)) pre.push({ kind, ...(await handProbe(model, prompt, target, truth)) });
    const stack = new EditStack(model);
    await stack.apply(out.edit);
    try {
      for (const { kind, prompt } of casePrompts(fact)) post.push({ kind, ...(await handProbe(model, prompt, target, truth)) });
    } finally {
      await stack.revertAll();
    }
  });
  after(async () => {
    await model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const of = (rows: typeof pre, kind: string) => rows.filter((r) => r.kind === kind);

  test('every protocol is present and tagged; metrics is the hase-normalized one', () => {
    assert.deepEqual(Object.keys(out.metricsByProtocol).sort(), [...METRIC_PROTOCOLS].sort());
    for (const p of METRIC_PROTOCOLS) assert.equal(out.metricsByProtocol[p].protocol, p);
    assert.deepEqual(out.metrics, out.metricsByProtocol['hase-normalized']);
    assert.equal(out.requests[0].metricsByProtocol.generation.extraTokens, GENERATION_EXTRA_TOKENS);
  });

  test('hase-normalized: the seed paper scores from the whole-target probabilities before and after (1e-6)', () => {
    const pp = (k: string) => of(pre, k).map((r, i) => ({ pre: Math.exp(r.sumNew), post: Math.exp(of(post, k)[i].sumNew) }));
    const ref = editScores(pp('rewrite')[0], pp('paraphrase'), pp('neighborhood'), false);
    for (const k of ['rewrite', 'paraphrase', 'neighborhood', 'overall'] as const) assert.ok(Math.abs(out.metrics[k] - ref[k]) < 1e-6, `${k}: ${out.metrics[k]} vs ${ref[k]}`);
    assert.ok(Math.abs(out.metrics.rewrite - recovered(Math.exp(pre[0].sumNew), Math.exp(post[0].sumNew))) < 1e-6);
  });

  test('rome-probability: per prompt p(new) > p(true) on the mean-NLL probabilities, averaged', () => {
    const wins = (k: string, newWins: boolean) => mean(of(post, k).map((r) => ((newWins ? r.meanNew > r.meanTrue : r.meanTrue > r.meanNew) ? 1 : 0)));
    const m = out.metricsByProtocol['rome-probability'];
    assert.ok(Math.abs(m.rewrite - wins('rewrite', true)) < TOL);
    assert.ok(Math.abs(m.paraphrase - wins('paraphrase', true)) < TOL);
    assert.ok(Math.abs(m.neighborhood - wins('neighborhood', false)) < TOL);
    assert.equal(m.rewrite, out.romeMetrics.efficacy);
  });

  test('token-accuracy: fraction of target tokens that are the argmax given the gold prefix; neighborhood = argmax unchanged on target_true', () => {
    const acc = (r: HandProbe) => r.ids.filter((id, k) => r.argmaxNew[k] === id).length / r.ids.length;
    const m = out.metricsByProtocol['token-accuracy'];
    assert.ok(Math.abs(m.rewrite - acc(post[0])) < TOL);
    assert.ok(Math.abs(m.paraphrase - mean(of(post, 'paraphrase').map(acc))) < TOL);
    const kept = of(post, 'neighborhood').map((r, i) => { const b = of(pre, 'neighborhood')[i].argmaxTrue; return b.filter((id, k) => r.argmaxTrue[k] === id).length / b.length; });
    assert.ok(Math.abs(m.neighborhood - mean(kept)) < TOL);
  });

  test('generation: " Microsoft" in the greedy continuation (target length + 5 tokens); neighborhood: said as often as before', () => {
    const says = (r: HandProbe) => (r.continuation.includes('Microsoft') ? 1 : 0);
    const m = out.metricsByProtocol.generation;
    assert.equal(m.rewrite, says(post[0]));
    assert.ok(Math.abs(m.paraphrase - mean(of(post, 'paraphrase').map(says))) < TOL);
    assert.ok(Math.abs(m.neighborhood - mean(of(post, 'neighborhood').map((r, i) => (says(r) === says(of(pre, 'neighborhood')[i]) ? 1 : 0)))) < TOL);
  });

  test('the protocols disagree on this edit (the reason they are named)', () => {
    const by = out.metricsByProtocol;
    assert.ok(by.generation.paraphrase > by['token-accuracy'].paraphrase, `generation ${by.generation.paraphrase} vs token accuracy ${by['token-accuracy'].paraphrase}`);
    assert.notEqual(by['hase-normalized'].paraphrase, by['rome-probability'].paraphrase);
  });

  test('the teacher-forced pass is targetLogprobs bit for bit (hase-normalized numbers unchanged)', async () => {
    const pairs = casePrompts(fact).flatMap(({ prompt }) => [{ prompt, target: fact.target_new.str }, { prompt, target: fact.target_true.str }]);
    const a = await targetLogprobs(model, pairs);
    const b = await teacherForced(model, pairs);
    assert.deepEqual(b.map((x) => x.tokenLogprobs), a.map((x) => x.tokenLogprobs));
    assert.deepEqual(b.map((x) => x.sum), a.map((x) => x.sum));
  });

  test('greedy continuations: batched equals one prompt at a time', async (t) => {
    const prompts = casePrompts(fact).map((p) => p.prompt);
    const t0 = performance.now();
    const batched = await greedyContinuations(model, prompts, 1);
    t.diagnostic(`greedy continuations of ${prompts.length} prompts × ${1 + GENERATION_EXTRA_TOKENS} tokens: ${(performance.now() - t0).toFixed(0)} ms`);
    for (let i = 0; i < prompts.length; i++) assert.equal(batched[i], (await generateText(model, prompts[i], { maxNewTokens: 1 + GENERATION_EXTRA_TOKENS, topK: 1, seed: 0 })).text);
  });
});
