import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { golden, tempDir } from '../helpers/paths';

/**
 * `locus edit --method alphaedit` end to end on gpt2-facts-trained: one edit of alphaedit_two's batch with
 * the golden's hparams and templates reproduces the golden's ‖ΔW‖ (1e-4 relative) and post-edit
 * log-probs (1e-3; golden/README.md alphaedit_*.json), and a two-batch sequential run carries P and the
 * key cache from batch to batch (plumbing only: 2 z steps).
 */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface GoldenPrompt {
  target_new: { sum_logprob: number };
  target_true: { sum_logprob: number };
}
const two = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'alphaedit_two.json'), 'utf8')) as {
  hparams: Record<string, unknown>;
  context_templates: string[][];
  request: { requests: object[] };
  layers: Array<{ layer: number; delta_w_fro: number }>;
  post: GoldenPrompt[][];
};
const seqRequest = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'alphaedit_seq.request.json'), 'utf8')) as { batches: object[][] };

describe('locus edit --method alphaedit (gpt2-facts-trained)', () => {
  let tmp: string;
  const model = golden('gpt2-facts-trained');
  const file = (name: string): string => path.join(tmp, name);
  before(() => {
    tmp = tempDir('locus-alphaedit-');
    fs.writeFileSync(file('hparams.json'), JSON.stringify(two.hparams));
    fs.writeFileSync(file('templates.json'), JSON.stringify(two.context_templates));
    fs.writeFileSync(file('two.json'), JSON.stringify(two.request.requests));
    fs.writeFileSync(file('seq.json'), JSON.stringify(seqRequest.batches.flat()));
    fs.writeFileSync(file('quick.json'), JSON.stringify({ ...two.hparams, v_num_grad_steps: 2 }));
    fs.writeFileSync(file('bad.json'), JSON.stringify({ L2: 0 }));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const common = (): string[] => ['--model', model, '--method', 'alphaedit', '--stats-corpus', golden('gpt2-facts-trained', 'stats_corpus.txt'), '--cache', file('stats')];

  test('one edit of alphaedit_two\'s batch: ‖ΔW‖ and post-edit log-probs as the golden; the null-space dimensions in the notes', async () => {
    const r = await run(['edit', ...common(), '--request', file('two.json'), '--hparams', file('hparams.json'), '--context-templates', file('templates.json'), '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.method, 'alphaedit');
    assert.deepEqual(j.layers, [1, 2]);
    two.layers.forEach((w, i) => {
      const got = j.deltas[i];
      assert.equal(got.param, `blocks.${w.layer}.mlp.W_out`);
      const err = Math.abs(got.frobenius - w.delta_w_fro) / w.delta_w_fro;
      console.log(`# layer ${w.layer}: ‖ΔW‖ ${got.frobenius.toFixed(4)} vs ${w.delta_w_fro.toFixed(4)} (${err.toExponential(2)})`);
      assert.ok(err <= 1e-4, `‖ΔW‖ at layer ${w.layer}: ${got.frobenius} vs ${w.delta_w_fro}`);
    });
    assert.equal(j.requests.length, 2);
    let worst = 0;
    two.post.forEach((prompts, i) => {
      // requests[i].post is the request's own prompt (the golden's first prompt of that request).
      worst = Math.max(worst, Math.abs(j.requests[i].post.targetNewLogprob - prompts[0].target_new.sum_logprob), Math.abs(j.requests[i].post.targetTrueLogprob - prompts[0].target_true.sum_logprob));
    });
    console.log(`# post log-probs: max |Δ| ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-3, `post log-probs off by ${worst}`);
    assert.ok(j.notes.some((n: string) => n.includes('null-space dimension') && n.includes('1: 200/256') && n.includes('2: 206/256')), j.notes.join('\n'));
  });

  test('a sequence of two batches: each batch edits both layers (plumbing, 2 z steps)', async () => {
    const r = await run(['edit', ...common(), '--requests', file('seq.json'), '--sequential', '--batch-size', '2', '--hparams', file('quick.json'), '--held-out-tokens', '64', '--measure-every', '2', '--first-prompt-only', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.batches.length, 2);
    for (const b of j.batches) {
      assert.deepEqual(b.deltas.map((d: { param: string }) => d.param), ['blocks.1.mlp.W_out', 'blocks.2.mlp.W_out']);
      for (const d of b.deltas) assert.ok(Number.isFinite(d.frobenius) && d.frobenius > 0, `‖ΔW‖ ${d.frobenius}`);
    }
    // Batch 2 ran on the sequence bag batch 1 left (P kept, batch 1's keys in cache_c).
    assert.ok(j.notes.some((n: string) => n.startsWith('AlphaEdit: batch 2 of this sequence')), j.notes.join('\n'));
  });

  test('L2 = 0 is refused before the model loads, in one line', async () => {
    const r = await run(['edit', ...common(), '--request', file('two.json'), '--hparams', file('bad.json')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /"L2" must be a finite number > 0/);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  });
});
