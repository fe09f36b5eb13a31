import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../../src/cli/main';
import { golden, repoRoot, tempDir } from '../../helpers/paths';

/** Runs the CLI in-process and captures what it prints. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Copies a golden model folder (weights as a symlink unless `copyWeights`) so a test can break one file. */
function copyModel(name: string, dir: string, copyWeights = false): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(golden(name))) {
    if (!/^(config\.json|model\.safetensors|vocab\.json|merges\.txt|tokenizer_config\.json)$/.test(f)) continue;
    const src = golden(name, f);
    if (f === 'model.safetensors' && !copyWeights) fs.symlinkSync(src, path.join(dir, f));
    else fs.copyFileSync(src, path.join(dir, f));
  }
  return dir;
}

/** Asserts a one-line actionable error: exit 2, nothing on stdout, no stack trace, and the expected words. */
function assertUserError(r: { code: number; out: string; err: string }, ...words: RegExp[]): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.err})`);
  assert.equal(r.err.split('\n').length, 1, `one line: ${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at |Error:/, 'no stack trace');
  for (const w of words) assert.match(r.err, w);
}

describe('locus probe: bad input gets a one-line, actionable error', () => {
  let tmp: string;
  before(() => (tmp = tempDir('locus-cli-')));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('missing folder', async () => {
    const r = await run(['probe', '--model', path.join(tmp, 'nope'), '--prompt', 'Hi']);
    assertUserError(r, /does not exist/, /nope/);
  });

  test('a folder that is not a model', async () => {
    fs.mkdirSync(path.join(tmp, 'empty'));
    assertUserError(await run(['probe', '--model', path.join(tmp, 'empty'), '--prompt', 'Hi']), /no config\.json/);
  });

  test('unknown model_type lists the supported ones', async () => {
    const dir = copyModel('gpt2-tiny-trained', path.join(tmp, 'llama'));
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'mamba' }));
    assertUserError(await run(['probe', '--model', dir, '--prompt', 'Hi']), /"mamba"/, /gpt2, gptj/);
  });

  test('truncated safetensors', async () => {
    const dir = copyModel('gpt2-tiny-trained', path.join(tmp, 'truncated'), true);
    const file = path.join(dir, 'model.safetensors');
    fs.truncateSync(file, 1000);
    assertUserError(await run(['probe', '--model', dir, '--prompt', 'Hi']), /model\.safetensors/, /truncated|past the end/);
  });

  test('header offsets past the end of the file', async () => {
    const dir = copyModel('gpt2-tiny-trained', path.join(tmp, 'offsets'), true);
    const file = path.join(dir, 'model.safetensors');
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    const victim = 'transformer.h.0.mlp.c_fc.weight';
    header[victim].data_offsets[1] += 1 << 30;
    header[victim].data_offsets[0] += 1 << 30;
    let text = JSON.stringify(header);
    text = text.padEnd(Math.ceil(text.length / 8) * 8, ' ');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    fs.writeFileSync(file, Buffer.concat([len, Buffer.from(text), bytes.subarray(8 + n)]));
    assertUserError(await run(['probe', '--model', dir, '--prompt', 'Hi']), /past the end/, new RegExp(victim.replace(/\./g, '\\.')));
  });

  test('a tensor of the wrong shape is named', async () => {
    const dir = copyModel('gpt2-tiny-trained', path.join(tmp, 'shape'));
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, n_inner: 128 }));
    assertUserError(await run(['probe', '--model', dir, '--prompt', 'Hi']), /transformer\.h\.0\.mlp\.c_fc\.(weight|bias)/, /shape/);
  });

  test('missing tokenizer', async () => {
    const dir = copyModel('gpt2-tiny-trained', path.join(tmp, 'notok'));
    fs.rmSync(path.join(dir, 'vocab.json'));
    assertUserError(await run(['probe', '--model', dir, '--prompt', 'Hi']), /tokenizer\.json/, /vocab\.json/);
  });

  test('pickle checkpoints are refused with a way to convert', async () => {
    const dir = copyModel('gpt2-tiny-trained', path.join(tmp, 'pickle'));
    fs.rmSync(path.join(dir, 'model.safetensors'));
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'not really a pickle');
    assertUserError(await run(['probe', '--model', dir, '--prompt', 'Hi']), /pickle|execute/i, /safe_serialization|safetensors/);
  });

  test('empty prompt', async () => {
    assertUserError(await run(['probe', '--model', golden('gpt2-tiny-trained'), '--prompt', '']), /empty/);
  });

  test('prompt longer than the context window', async () => {
    const long = 'The Eiffel Tower is in Paris. '.repeat(30);
    assertUserError(await run(['probe', '--model', golden('gpt2-facts-trained'), '--prompt', long]), /\d+ tokens/, /context window is 128/);
  });

  test('missing --prompt and unknown flags are usage errors', async () => {
    assertUserError(await run(['probe', '--model', golden('gpt2-tiny-trained')]), /--prompt is required/);
    assertUserError(await run(['probe', '--bogus']), /bogus/);
    assert.equal((await run(['frobnicate'])).code, 2);
  });

  test('the bundled CLI exits non-zero with the message and no stack trace', () => {
    const cli = path.join(repoRoot, 'dist', 'cli.js');
    const r = spawnSync(process.execPath, [cli, 'probe', '--model', path.join(tmp, 'nope'), '--prompt', 'Hi'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^locus probe: model folder .*nope does not exist\n$/);
  });
});

describe('locus probe: output', () => {
  test('--json follows CONTRACTS.md and the top token is the golden one', async () => {
    const r = await run(['probe', '--model', golden('gpt2-tiny-trained'), '--prompt', 'The Space Needle is located in the city of', '--top', '3', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.ids, [464, 4687, 10664, 293, 318, 5140, 287, 262, 1748, 286]);
    assert.equal(j.tokens[1], ' Space');
    assert.equal(j.top.length, 3);
    // ROME's trace of this prompt on this model reports the answer " Sydney" at p = 0.139 (golden trace high_score).
    assert.equal(j.top[0].token, ' Sydney');
    assert.equal(j.top[0].id, 11852);
    assert.ok(Math.abs(j.top[0].prob - 0.139) < 1e-3, `prob ${j.top[0].prob}`);
    assert.ok(Math.abs(Math.log(j.top[0].prob) - j.top[0].logprob) < 1e-9);
    assert.ok(j.top[0].prob >= j.top[1].prob && j.top[1].prob >= j.top[2].prob);
    assert.equal(j.model.architecture, 'gpt2');
    assert.equal(j.model.n_layers, 4);
  });
});
