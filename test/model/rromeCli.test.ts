import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { golden, tempDir } from '../helpers/paths';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * `locus edit --method rrome` end to end on gpt2-facts-trained with rrome_eiffel's request, hparams and
 * templates; C from ROME's own statistics files (--stats-dir rome_stats/, equal to the golden's C), so the
 * post-edit log-prob and ‖ΔW‖ meet the golden's tolerances (1e-3 absolute, 5e-4 relative; golden/README.md).
 */
describe('locus edit --method rrome (gpt2-facts-trained)', () => {
  let tmp: string;
  const ref = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'rrome_eiffel.json'), 'utf8')) as {
    request: { request: object };
    hparams: object;
    context_templates: string[];
    post: Array<{ target_new: { sum_logprob: number } }>;
    edits: Array<{ delta_w_fro: number; dot_k_u: number }>;
  };
  before(() => {
    tmp = tempDir('locus-rrome-');
    fs.writeFileSync(path.join(tmp, 'templates.json'), JSON.stringify(ref.context_templates));
    fs.writeFileSync(path.join(tmp, 'hparams.json'), JSON.stringify(ref.hparams));
    fs.writeFileSync(path.join(tmp, 'request.json'), JSON.stringify(ref.request.request));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("the golden's post-edit log-prob and ‖ΔW‖, the division factor in the notes, CONTRACTS' JSON", async () => {
    const args = ['edit', '--model', golden('gpt2-facts-trained'), '--method', 'rrome', '--request', path.join(tmp, 'request.json'), '--context-templates', path.join(tmp, 'templates.json'), '--hparams', path.join(tmp, 'hparams.json')];
    const r = await run([...args, '--stats-dir', golden('gpt2-facts-trained', 'rome_stats'), '--cache', path.join(tmp, 'stats'), '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { method: string; layers: number[]; post: { targetNewLogprob: number }; deltas: Array<{ param: string; frobenius: number }>; requests: unknown[]; notes: string[]; safety?: { flagged: boolean } };
    assert.equal(j.method, 'rrome');
    assert.deepEqual(j.layers, [1]);
    assert.equal(j.requests.length, 1);
    assert.deepEqual(j.deltas.map((d) => d.param), ['blocks.1.mlp.W_out']);
    const dLogp = Math.abs(j.post.targetNewLogprob - ref.post[0].target_new.sum_logprob);
    const dFro = Math.abs(j.deltas[0].frobenius - ref.edits[0].delta_w_fro) / ref.edits[0].delta_w_fro;
    console.log(`# CLI r-ROME: post log p ${j.post.targetNewLogprob.toFixed(5)} (|Δ| ${dLogp.toExponential(2)}), ‖ΔW‖ ${j.deltas[0].frobenius.toFixed(3)} (rel ${dFro.toExponential(2)}); safety flagged ${j.safety?.flagged}`);
    assert.ok(dLogp <= 1e-3, `post log-prob ${j.post.targetNewLogprob} vs ${ref.post[0].target_new.sum_logprob}`);
    assert.ok(dFro <= 5e-4, `‖ΔW‖ ${j.deltas[0].frobenius} vs ${ref.edits[0].delta_w_fro}`);
    const factor = j.notes.find((n) => n.startsWith('r-ROME layer 1: division factor'));
    assert.ok(factor, j.notes.join('\n'));
    assert.ok(Math.abs(Number(/k_update·u ([\d.e-]+)/.exec(factor)![1]) - ref.edits[0].dot_k_u) <= 5e-4 * ref.edits[0].dot_k_u, factor);
    // The key flags are checked before any model is loaded, in one line.
    fs.writeFileSync(path.join(tmp, 'both.json'), JSON.stringify({ enable_prompt_keys: true, enable_random_prefix_keys: true }));
    const bad = await run(['edit', '--model', golden('gpt2-facts-trained'), '--method', 'rrome', '--request', path.join(tmp, 'request.json'), '--hparams', path.join(tmp, 'both.json')]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /exactly one of "enable_prompt_keys" and "enable_random_prefix_keys"/);
    assert.equal(bad.err.trim().split('\n').length, 1, bad.err);
  });
});
