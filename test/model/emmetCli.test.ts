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

interface GoldenPrompt {
  target_new: { sum_logprob: number };
}

/**
 * `locus edit --method emmet` end to end on gpt2-facts-trained with emmet_two's batch, hparams and nested
 * templates; C0 from ROME's own statistics files (--stats-dir rome_stats/; golden/README.md: ΔW then lands
 * ≈5e-4 from the file, inside its 2e-3 tolerance; ‖ΔW‖ 2e-4, log-probs 2e-3 absolute).
 */
describe('locus edit --method emmet (gpt2-facts-trained)', () => {
  let tmp: string;
  const ref = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'emmet_two.json'), 'utf8')) as {
    request: { requests: object[] };
    hparams: object;
    context_templates: string[][];
    post: GoldenPrompt[][];
    layers: Array<{ delta_w_fro: number }>;
  };
  before(() => {
    tmp = tempDir('locus-emmet-');
    fs.writeFileSync(path.join(tmp, 'templates.json'), JSON.stringify(ref.context_templates));
    fs.writeFileSync(path.join(tmp, 'hparams.json'), JSON.stringify(ref.hparams));
    fs.writeFileSync(path.join(tmp, 'requests.json'), JSON.stringify(ref.request.requests));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test("a batch of two: the golden's post-edit log-probs and ‖ΔW‖ per layer, CONTRACTS' JSON", async () => {
    const args = ['edit', '--model', golden('gpt2-facts-trained'), '--method', 'emmet', '--request', path.join(tmp, 'requests.json'), '--context-templates', path.join(tmp, 'templates.json'), '--hparams', path.join(tmp, 'hparams.json')];
    const r = await run([...args, '--stats-dir', golden('gpt2-facts-trained', 'rome_stats'), '--cache', path.join(tmp, 'stats'), '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { method: string; layers: number[]; deltas: Array<{ param: string; frobenius: number }>; requests: Array<{ post: { targetNewLogprob: number } }>; safety?: { flagged: boolean } };
    assert.equal(j.method, 'emmet');
    assert.deepEqual(j.layers, [1, 2]);
    assert.deepEqual(j.deltas.map((d) => d.param), ['blocks.1.mlp.W_out', 'blocks.2.mlp.W_out']);
    assert.equal(j.requests.length, 2);
    j.requests.forEach((q, i) => {
      const want = ref.post[i][0].target_new.sum_logprob;
      console.log(`# CLI EMMET request ${i}: post log p ${q.post.targetNewLogprob.toFixed(5)} vs ${want.toFixed(5)}`);
      assert.ok(Math.abs(q.post.targetNewLogprob - want) <= 2e-3, `request ${i}: ${q.post.targetNewLogprob} vs ${want}`);
    });
    j.deltas.forEach((d, i) => {
      const rel = Math.abs(d.frobenius - ref.layers[i].delta_w_fro) / ref.layers[i].delta_w_fro;
      console.log(`# CLI EMMET ${d.param}: ‖ΔW‖ ${d.frobenius.toFixed(3)} (rel ${rel.toExponential(2)}); safety flagged ${j.safety?.flagged}`);
      assert.ok(rel <= 2e-4, `${d.param}: ‖ΔW‖ ${d.frobenius} vs ${ref.layers[i].delta_w_fro}`);
    });
  });
});
