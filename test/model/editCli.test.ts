import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
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

const sha = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('locus edit (gpt2-facts-trained)', () => {
  let tmp: string;
  const model = golden('gpt2-facts-trained');
  const ref = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'rome_eiffel.json'), 'utf8')) as { hparams: object; context_templates: string[]; post: Array<{ target_new: { sum_logprob: number } }> };
  before(() => {
    tmp = tempDir('locus-edit-');
    fs.writeFileSync(path.join(tmp, 'templates.json'), JSON.stringify(ref.context_templates));
    fs.writeFileSync(path.join(tmp, 'hparams.json'), JSON.stringify(ref.hparams));
    fs.writeFileSync(path.join(tmp, 'request.json'), JSON.stringify({
      prompt: '{} is located in the city of', subject: 'The Eiffel Tower', target_new: { str: 'Rome' }, target_true: { str: 'Paris' },
      paraphrase_prompts: ['The Eiffel Tower can be found in the city of'], neighborhood_prompts: ['The Colosseum is located in the city of'],
    }));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const common = () => ['--model', model, '--request', path.join(tmp, 'request.json'), '--stats-corpus', golden('gpt2-facts-trained', 'stats_corpus.txt'), '--cache', path.join(tmp, 'stats')];

  test('ROME at layer 1 via the CLI reproduces the reference post-edit log-prob; JSON follows CONTRACTS.md; --save writes a reloadable model and leaves the source untouched', async () => {
    const before = sha(path.join(model, 'model.safetensors'));
    const save = path.join(tmp, 'edited');
    const r = await run(['edit', ...common(), '--method', 'rome', '--layer', '1', '--context-templates', path.join(tmp, 'templates.json'), '--hparams', path.join(tmp, 'hparams.json'), '--json', '--save', save, '--force']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.method, 'rome');
    assert.deepEqual(j.layers, [1]);
    assert.equal(j.problem, 'error-injection');
    assert.ok(Math.abs(j.post.targetNewLogprob - ref.post[0].target_new.sum_logprob) < 1e-3, `post ${j.post.targetNewLogprob}`);
    assert.ok(j.pre.targetTrueLogprob > -0.01 && j.post.targetTrueLogprob < -1, 'Paris was known and is overwritten');
    for (const k of ['rewrite', 'paraphrase', 'neighborhood', 'overall']) assert.equal(typeof j.metrics[k], 'number', k);
    assert.ok(j.metrics.rewrite > 0.9);
    assert.equal(j.delta.param, 'blocks.1.mlp.W_out');
    assert.ok(j.delta.frobenius > 1);
    assert.equal(sha(path.join(model, 'model.safetensors')), before, 'the source model file is untouched');
    const probe = await run(['probe', '--model', save, '--prompt', 'The Eiffel Tower is located in the city of', '--json', '--top', '1']);
    assert.equal(JSON.parse(probe.out).top[0].token, ' Rome');
  });

  test('Fact Erasure with ROME lowers p(target_true) and scores the erased fraction', async () => {
    const r = await run(['edit', ...common(), '--method', 'rome', '--layer', '1', '--problem', 'fact-erasure', '--context-templates', path.join(tmp, 'templates.json'), '--hparams', path.join(tmp, 'hparams.json'), '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.target, ' Paris');
    assert.ok(Math.exp(j.post.targetTrueLogprob) < 0.01, `p(Paris) after ${Math.exp(j.post.targetTrueLogprob)}`);
    const pre = Math.exp(j.pre.targetNewLogprob);
    const post = Math.exp(j.post.targetNewLogprob);
    assert.ok(Math.abs(j.metrics.rewrite - (pre - post) / pre) < 1e-9, 'rewrite = erased fraction');
  });

  test('Fact Forcing with FT-5 raises p(target_true) under a noised subject; MEMIT refuses it in one line', async () => {
    const r = await run(['edit', ...common(), '--method', 'ft5', '--layer', '2', '--problem', 'fact-forcing', '--editing-noise', '0.5', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.target, ' Paris');
    assert.ok(j.pre.targetTrueLogprob < -0.01, `the noise lowers p(Paris): ${Math.exp(j.pre.targetTrueLogprob)}`);
    assert.ok(j.post.targetTrueLogprob > j.pre.targetTrueLogprob, 'the edit restores it under noise');
    assert.ok(j.metrics.rewrite > 0.5, `rewrite ${j.metrics.rewrite}`);
    const memit = await run(['edit', ...common(), '--method', 'memit', '--problem', 'fact-forcing']);
    assert.equal(memit.code, 2);
    assert.match(memit.err, /fact-forcing is available with rome, ft and ft5 in this build, not yet with memit/);
  });

  test('FT-1 keeps every weight change inside the L∞ box', async () => {
    const r = await run(['edit', ...common(), '--method', 'ft', '--layer', '1', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.deltas.map((d: { param: string }) => d.param), ['blocks.1.mlp.W_out', 'blocks.1.mlp.b_out']);
    assert.ok(j.post.targetNewLogprob > j.pre.targetNewLogprob);
  });

  test('bad input gets one-line errors', async () => {
    const one = (r: { code: number; err: string }, re: RegExp) => {
      assert.equal(r.code, 2, r.err);
      assert.equal(r.err.split('\n').length, 1, r.err);
      assert.match(r.err, re);
    };
    one(await run(['edit', '--model', model, '--request', path.join(tmp, 'request.json')]), /--method must be one of rome, [a-z0-9, ]*\bft5\b/);
    one(await run(['edit', ...common(), '--method', 'rome', '--problem', 'nope']), /--problem must be one of/);
    one(await run(['edit', ...common(), '--method', 'rome', '--case', '3']), /exactly one of --case ID or --request FILE/);
    fs.writeFileSync(path.join(tmp, 'bad.json'), '{"prompt": "no subject slot", "subject": "X"');
    one(await run(['edit', '--model', model, '--method', 'rome', '--request', path.join(tmp, 'bad.json')]), /not valid JSON/);
    fs.writeFileSync(path.join(tmp, 'bad2.json'), JSON.stringify({ prompt: 'no slot', subject: 'X', target_new: { str: 'a' }, target_true: { str: 'b' } }));
    one(await run(['edit', '--model', model, '--method', 'rome', '--request', path.join(tmp, 'bad2.json')]), /"prompt" must be a string with \{\}/);
    one(await run(['edit', ...common(), '--method', 'rome', '--layer', '9']), /--layer 9 is outside 0\.\.5/);
  });
});
