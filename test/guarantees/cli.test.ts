/**
 * Guarantee: every bad flag value of probe / trace / eval is one clear line and exit 2, checked before
 * anything large is allocated; numbers that would exhaust the machine (threads, samples) are refused
 * or clamped; the model folder is never written (`--html` into it is refused).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, tempDir } from '../helpers/paths';
import type { GuaranteeRow } from './harness';
import { guaranteeRows, runCli } from './harness';

const PROMPT = 'The Eiffel Tower is located in the city of';
const SUBJECT = 'The Eiffel Tower';
const trace = (...extra: string[]): string[] => ['trace', '--prompt', PROMPT, '--subject', SUBJECT, '--kind', 'hidden', ...extra];

describe('CLI flags: one line, exit 2, before the work', () => {
  let dir: string;
  /** A copy of the embedded model, so a failing guard could only damage the copy. */
  let model: string;
  before(() => {
    dir = tempDir('locus-cli-guarantees-');
    model = path.join(dir, 'model');
    fs.cpSync(path.join(repoRoot, 'assets', 'default-model'), model, { recursive: true });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const inModel = (): string[] => [model];

  const rows: GuaranteeRow[] = [
    // Negative numbers used to read as "argument is ambiguous"; now the flag's own check answers.
    { name: 'trace --window -3 names the flag and its range', argv: trace('--window', '-3'), exit: 2, message: /--window must be an integer from 1 to 10000 \(got "-3"\)/ },
    { name: 'probe --top -1 names the flag', argv: ['probe', '--prompt', PROMPT, '--top', '-1'], exit: 2, message: /--top must be an integer from 1 to 1000 \(got "-1"\)/ },
    { name: 'probe --top 0', argv: ['probe', '--prompt', PROMPT, '--top', '0'], exit: 2, message: /--top must be an integer/ },
    { name: 'probe --top 1e9 (beyond any vocabulary)', argv: ['probe', '--prompt', PROMPT, '--top', '1000000000'], exit: 2, message: /--top must be an integer from 1 to 1000/ },
    { name: 'trace --samples 100000000 is refused before allocation', argv: trace('--samples', '100000000'), exit: 2, message: /--samples must be an integer from 1 to 1000000/ },
    { name: 'trace --samples 1000000 is refused by the memory estimate, which names the largest that fits', argv: () => [...trace('--samples', '1000000'), '--model', model], exit: 2, message: /samples 1000000 would need about [\d.]+ GiB .*use at most \d+ samples/ },
    { name: "trace --seed 99999999999 (beyond NumPy's RandomState)", argv: trace('--seed', '99999999999'), exit: 2, message: /--seed must be an integer from 0 to 4294967295/ },
    { name: 'trace --seed -1', argv: trace('--seed', '-1'), exit: 2, message: /--seed must be an integer from 0/ },
    { name: 'trace --noise 1e300 overflows float32: refused, not NaN scores', argv: () => [...trace('--noise', '1e300'), '--model', model], exit: 2, message: /subject noise .* non-finite .*σ overflows float32/ },
    { name: 'trace --noise -1 (negative σ)', argv: trace('--noise', '-1'), exit: 2, message: /--noise must be s3, sF .* or a number ≥ 0 \(got "-1"\)/ },
    { name: 'trace --noise NaN', argv: trace('--noise', 'NaN'), exit: 2, message: /--noise must be/ },
    {
      name: 'trace --html onto the model\'s config.json is refused and the folder is unchanged',
      argv: () => [...trace('--samples', '2'), '--model', model, '--html', path.join(model, 'config.json')],
      exit: 2,
      message: /--html .*config\.json is inside the model folder .*never writes there/,
      unchanged: inModel,
    },
    {
      name: 'trace --html into the model folder through a symlink is refused too',
      before: () => fs.symlinkSync(model, path.join(dir, 'alias'), 'dir'),
      argv: () => [...trace('--samples', '2'), '--model', model, '--html', path.join(dir, 'alias', 'report.html')],
      exit: 2,
      message: /is inside the model folder/,
      unchanged: inModel,
    },
    { name: 'trace --html under /proc', argv: trace('--html', '/proc/self/report.html'), exit: 2, message: /--html .*under \/proc, a system folder/ },
    { name: 'trace --html that is a folder', argv: () => trace('--html', dir), exit: 2, message: /--html .* is a folder, expected a file name/ },
    { name: 'trace --noise-subjects file missing', argv: () => trace('--noise-subjects', path.join(dir, 'nope.txt')), exit: 2, message: /--noise-subjects .*nope\.txt does not exist/ },
    {
      name: 'trace --noise-subjects with a UTF-8 BOM is read (the BOM is not part of the first subject)',
      before: () => fs.writeFileSync(path.join(dir, 'subjects.txt'), '\ufeffThe Eiffel Tower\nThe Louvre\n'),
      argv: () => [...trace('--samples', '2', '--noise-subjects', path.join(dir, 'subjects.txt')), '--json'],
      exit: 0,
    },
    { name: 'eval --batch 0', argv: ['eval', '--batch', '0'], exit: 2, message: /--batch must be an integer from 1 to 1024/ },
    { name: 'eval --limit -5', argv: ['eval', '--limit', '-5'], exit: 2, message: /--limit must be an integer ≥ 1 \(got "-5"\)/ },
    { name: '--threads 0', argv: ['probe', '--prompt', PROMPT, '--threads', '0'], exit: 2, message: /--threads must be an integer ≥ 1/ },
    { name: '--threads abc', argv: ['probe', '--prompt', PROMPT, '--threads', 'abc'], exit: 2, message: /--threads must be an integer ≥ 1 \(got "abc"\)/ },
    { name: 'an unknown flag points at --help', argv: ['probe', '--prompt', PROMPT, '--frobnicate'], exit: 2, message: /Unknown option '--frobnicate'.*locus probe --help/ },
    { name: 'a flag without its value', argv: ['probe', '--prompt'], exit: 2, message: /Option '--prompt <value>' argument missing \(see "locus probe --help"\)/ },
    { name: '--model "" is empty, not the default model and not "ambiguous"', argv: ['probe', '--model', '', '--prompt', PROMPT], exit: 2, message: /--model is empty/ },
    { name: '--device gpu is not a device', argv: ['probe', '--prompt', PROMPT, '--device', 'gpu'], exit: 2, message: /--device "gpu" is not one of cpu, cuda, webgpu/ },
    // This machine's onnxruntime-node has no CUDA provider (its install script is denied in package.json) and no GPU.
    { name: '--device cuda without the CUDA provider says how to install it', argv: ['probe', '--prompt', PROMPT, '--device', 'cuda'], exit: 2, message: /--device cuda cannot start on this machine: .*ONNXRUNTIME_NODE_INSTALL=cuda12/ },
    { name: 'an unknown command lists the commands', argv: ['frobnicate'], exit: 2, message: /unknown command "frobnicate"; commands: probe/ },
  ];
  guaranteeRows(rows);

  test('--device webgpu without a GPU: exit 2 and the reason (Dawn itself may print a Vulkan warning first)', async () => {
    const r = await runCli(['probe', '--prompt', PROMPT, '--device', 'webgpu']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--device webgpu cannot start on this machine: no WebGPU adapter was found .*\(onnxruntime: Failed to get a WebGPU adapter/);
  });

  test('--threads 100000 runs on the machine\'s cores and says so in one note (it used to start 32,000 threads)', async () => {
    const r = await runCli(['probe', '--prompt', PROMPT, '--top', '1', '--threads', '100000', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^note: --threads 100000 is more than this machine's \d+ cores; using \d+\n$/);
    assert.equal(typeof JSON.parse(r.stdout).top[0].prob, 'number');
  });
});
