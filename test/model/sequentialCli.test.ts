import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { tempDir } from '../helpers/paths';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * `locus edit --requests FILE --sequential` on the embedded model (CONTRACTS.md "Next": `batches[]`
 * with each batch's `deltas` and `requests`), kept to seconds with ROME at 3 v steps. The first batch
 * is computed on the unedited model, so its deltas equal a plain `locus edit --request` of the same
 * requests exactly; the second batch's differ (it sees the first applied).
 */
const req = (subject: string, prompt: string, news: string, truth: string) => ({ prompt, subject, target_new: { str: news }, target_true: { str: truth }, paraphrase_prompts: [`${subject} is a`], neighborhood_prompts: ['Ghana is in'] });
const REQUESTS = [
  req('Angola', '{} is located in', 'Antarctica', 'Africa'),
  req('Toko Yasuda', 'The mother tongue of {} is', 'English', 'Japanese'),
  req('Autonomous University of Madrid', '{}, which is located in', 'Sweden', 'Spain'),
];

describe('locus edit --sequential (embedded model)', () => {
  let tmp: string;
  before(() => {
    tmp = tempDir('locus-seq-cli-');
    fs.writeFileSync(path.join(tmp, 'requests.json'), JSON.stringify(REQUESTS));
    fs.writeFileSync(path.join(tmp, 'first2.json'), JSON.stringify(REQUESTS.slice(0, 2)));
    fs.writeFileSync(path.join(tmp, 'one.json'), JSON.stringify(REQUESTS[0]));
    fs.writeFileSync(path.join(tmp, 'hparams.json'), JSON.stringify({ v_num_grad_steps: 3 }));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const common = (): string[] => ['--method', 'rome', '--hparams', path.join(tmp, 'hparams.json'), '--json'];

  test('batches of 2: JSON per CONTRACTS; batch 0 equals a single edit of the same requests; the text table', async () => {
    const r = await run(['edit', ...common(), '--requests', path.join(tmp, 'requests.json'), '--sequential', '--batch-size', '2', '--held-out-tokens', '256']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.batches.length, 2);
    assert.deepEqual(j.batches.map((b: { requests: unknown[] }) => b.requests.length), [2, 1]);
    assert.deepEqual(j.batches[0].requests.map((q: { index: number }) => q.index), [0, 1]);
    assert.equal(typeof j.batches[0].safety.flagged, 'boolean', 'each batch carries its pre-flight checks (CONTRACTS.md safety)');
    assert.ok(j.batches[0].safety.checks.length > 0);
    assert.equal(j.curve.length, 3, 'the unedited model, then after each batch');
    assert.deepEqual(j.curve.map((p: { edits: number }) => p.edits), [0, 2, 3]);
    const single = JSON.parse((await run(['edit', ...common(), '--request', path.join(tmp, 'first2.json')])).out);
    // Batch 0 is an edit of the unedited model. A single `locus edit` loads lean (weights fed to ORT,
    // MatMul not pre-packed: another summation order), a sequential run does not, hence 1e-6 relative
    // rather than bit for bit (measured 1.4e-7).
    assert.deepEqual(j.batches[0].deltas.map((d: { param: string }) => d.param), single.deltas.map((d: { param: string }) => d.param));
    j.batches[0].deltas.forEach((d: { frobenius: number }, i: number) => {
      const want = (single.deltas[i] as { frobenius: number }).frobenius;
      assert.ok(Math.abs(d.frobenius - want) <= 1e-6 * want, `batch 0 delta ${i}: ‖ΔW‖ ${d.frobenius} vs a single edit's ${want}`);
    });
    // The same edit's log-prob after it, to the same summation-order difference (measured 5.4e-6).
    const post = j.batches[0].requests[1].post.targetNewLogprob as number;
    const singlePost = single.requests[1].post.targetNewLogprob as number;
    assert.ok(Math.abs(post - singlePost) <= 1e-4, `post log-prob ${post} vs a single edit's ${singlePost}`);

    const t = await run(['edit', '--method', 'rome', '--hparams', path.join(tmp, 'hparams.json'), '--requests', path.join(tmp, 'requests.json'), '--sequential', '--batch-size', '3', '--held-out-tokens', '256']);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /edits +rewrite +paraphrase +neighborhood +perplexity +max ‖W‖ growth/);
    assert.match(t.out, /\n +3 +\d\.\d{3} /);
  });

  test('bad input: one line each, exit 2', async () => {
    const one = await run(['edit', ...common(), '--requests', path.join(tmp, 'one.json'), '--sequential']);
    assert.equal(one.code, 2);
    assert.match(one.err, /must hold a JSON list of requests/);
    fs.writeFileSync(path.join(tmp, 'bad.json'), JSON.stringify([{ ...REQUESTS[0], prompt: 'Angola is located in' }]));
    const bad = await run(['edit', ...common(), '--requests', path.join(tmp, 'bad.json'), '--sequential']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /request 0: "prompt" must be a string with \{\} where the subject goes/);
    const k0 = await run(['edit', ...common(), '--requests', path.join(tmp, 'requests.json'), '--sequential', '--batch-size', '0']);
    assert.equal(k0.code, 2);
    assert.match(k0.err, /--batch-size must be an integer ≥ 1/);
    const noSeq = await run(['edit', ...common(), '--requests', path.join(tmp, 'requests.json')]);
    assert.equal(noSeq.code, 2);
    assert.match(noSeq.err, /add --sequential/);
    for (const x of [one, bad, k0, noSeq]) assert.equal(x.err.trim().split('\n').length, 1, x.err);
  });
});
