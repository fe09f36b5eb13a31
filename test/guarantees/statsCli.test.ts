import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { golden, tempDir } from '../helpers/paths';
import { checkRun, runCli } from './harness';

/**
 * `locus edit --stats-dir` through the real CLI (dist/cli.js), issue 17 item 3: ROME's own statistics
 * files for the golden model (golden/README.md "rome_stats") give the golden ROME and MEMIT edits
 * (post-edit log-probs within the golden tests' 1e-3) and the notes name the file; no statistics are
 * computed or cached; bad files are one line. And the user-level cache: without --cache, statistics
 * go to $XDG_CACHE_HOME/locus/stats, not into the working folder.
 */
const MODEL = golden('gpt2-facts-trained');
const STATS = golden('gpt2-facts-trained', 'rome_stats');
const file = (l: number): string => path.join(STATS, 'wikipedia_stats', `transformer.h.${l}.mlp.c_proj_float32_mom2_100000.npz`);

interface Prompt { prompt: string; target_new: { sum_logprob: number }; target_true: { sum_logprob: number } }

describe('locus edit --stats-dir (ROME-format .npz statistics)', () => {
  const tmp = tempDir('locus-stats-cli-');
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, content: unknown): string => {
    const f = path.join(tmp, name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content));
    return f;
  };
  // A fresh user cache and working folder: nothing may be computed, so nothing may appear in either.
  const xdg = path.join(tmp, 'xdg');
  const cwd = path.join(tmp, 'work');
  fs.mkdirSync(cwd);
  const env = { ...process.env, XDG_CACHE_HOME: xdg };

  test('ROME rome_eiffel: the golden post-edit log-probs; the notes name the file; nothing computed or cached', async () => {
    const ref = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'rome_eiffel.json'), 'utf8')) as { request: { request: object }; hparams: object; context_templates: string[]; pre: Prompt[]; post: Prompt[] };
    const argv = ['edit', '--model', MODEL, '--method', 'rome', '--request', write('rome-request.json', ref.request.request), '--hparams', write('rome-hparams.json', ref.hparams),
      '--context-templates', write('rome-templates.json', ref.context_templates), '--stats-dir', STATS, '--json'];
    const r = await runCli(argv, { cwd, env });
    checkRun({ exit: 0 }, r);
    const j = JSON.parse(r.stdout) as { layers: number[]; notes: string[]; pre: { targetNewLogprob: number }; post: { targetNewLogprob: number; targetTrueLogprob: number } };
    assert.deepEqual(j.layers, [1]);
    const note = j.notes.find((n) => n.includes(file(1)));
    assert.ok(note && /key statistics read from .*40413 tokens, sample_size 100000/.test(note), j.notes.join('\n'));
    assert.ok(!j.notes.some((n) => /key statistics over /.test(n)), 'no corpus was used');
    assert.equal(ref.post[0].prompt, 'The Eiffel Tower is located in the city of');
    assert.ok(Math.abs(j.post.targetNewLogprob - ref.post[0].target_new.sum_logprob) <= 1e-3, `post new ${j.post.targetNewLogprob} vs ${ref.post[0].target_new.sum_logprob}`);
    assert.ok(Math.abs(j.post.targetTrueLogprob - ref.post[0].target_true.sum_logprob) <= 1e-3, `post true ${j.post.targetTrueLogprob} vs ${ref.post[0].target_true.sum_logprob}`);
    assert.ok(!fs.existsSync(path.join(xdg, 'locus')) && !fs.existsSync(path.join(cwd, '.locus')), 'no statistics cached anywhere');
  });

  test('MEMIT memit_two: both requests reach the golden post-edit log-probs; notes name both layers\' files', async () => {
    const ref = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'memit_two.json'), 'utf8')) as { request: { requests: object[] }; hparams: object; context_templates: string[][]; post: Prompt[][] };
    const argv = ['edit', '--model', MODEL, '--method', 'memit', '--request', write('memit-request.json', ref.request.requests), '--hparams', write('memit-hparams.json', ref.hparams),
      '--context-templates', write('memit-templates.json', ref.context_templates), '--stats-dir', STATS, '--json'];
    const r = await runCli(argv, { cwd, env });
    checkRun({ exit: 0 }, r);
    const j = JSON.parse(r.stdout) as { layers: number[]; notes: string[]; requests: Array<{ post: { targetNewLogprob: number; targetTrueLogprob: number } }> };
    assert.deepEqual(j.layers, [1, 2]);
    for (const l of [1, 2]) assert.ok(j.notes.some((n) => n.includes(file(l))), `layer ${l}: ${j.notes.join('\n')}`);
    j.requests.forEach((got, i) => {
      const want = ref.post[i][0];
      assert.ok(Math.abs(got.post.targetNewLogprob - want.target_new.sum_logprob) <= 1e-3, `request ${i} post new ${got.post.targetNewLogprob} vs ${want.target_new.sum_logprob}`);
      assert.ok(Math.abs(got.post.targetTrueLogprob - want.target_true.sum_logprob) <= 1e-3, `request ${i} post true ${got.post.targetTrueLogprob} vs ${want.target_true.sum_logprob}`);
    });
    assert.ok(!fs.existsSync(path.join(xdg, 'locus')), 'no statistics cached');
  });

  test('bad statistics folders and files are one line each (exit 2)', async () => {
    const ok = fs.readFileSync(file(1));
    const cases: Array<[string, Buffer, RegExp]> = [
      ['truncated', ok.subarray(0, ok.length - 100), /transformer\.h\.1\.mlp\.c_proj_float32_mom2_100000\.npz is not a readable \.npz/],
      ['text', Buffer.from('{"mom2": 1}'), /not a readable \.npz/],
    ];
    const base = ['edit', '--model', MODEL, '--method', 'rome', '--layer', '1', '--request', path.join(tmp, 'rome-request.json'), '--hparams', path.join(tmp, 'rome-hparams.json'), '--json'];
    for (const [name, bytes, message] of cases) {
      write(path.join(name, 'wikipedia_stats', 'transformer.h.1.mlp.c_proj_float32_mom2_100000.npz'), bytes);
      checkRun({ exit: 2, message }, await runCli([...base, '--stats-dir', path.join(tmp, name)], { cwd, env }));
    }
    checkRun({ exit: 2, message: /--stats-dir folder .*absent/ }, await runCli([...base, '--stats-dir', path.join(tmp, 'absent')], { cwd, env }));
    checkRun({ exit: 2, message: /--stats-dir .* is a file/ }, await runCli([...base, '--stats-dir', file(1)], { cwd, env }));
  });

  test('without --cache, computed statistics go to $XDG_CACHE_HOME/locus/stats (shared), not into the working folder', async () => {
    const argv = ['edit', '--model', MODEL, '--method', 'rome', '--layer', '0', '--request', path.join(tmp, 'rome-request.json'), '--hparams', path.join(tmp, 'rome-hparams.json'),
      '--stats-corpus', golden('gpt2-facts-trained', 'stats_corpus.txt'), '--json'];
    const r = await runCli(argv, { cwd, env });
    checkRun({ exit: 0 }, r);
    const cached: string[] = [];
    const walk = (d: string): void => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : cached.push(e.name)));
    walk(path.join(xdg, 'locus', 'stats'));
    assert.ok(cached.some((n) => /^blocks\.0\.mlp\.post_float32_mom2_.*\.safetensors$/.test(n)), cached.join(', '));
    assert.ok(!fs.existsSync(path.join(cwd, '.locus')), 'nothing in the working folder');
  });
});
