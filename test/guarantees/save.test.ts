/**
 * Guarantee: `edit --save` is atomic (issue 15 item 4). `kill -9` at random points of a run, the
 * write phase included: afterwards the target either does not exist or is byte for byte a clean
 * export; a rerun into the same target then succeeds and leaves no partial folder behind. And the
 * export never writes non-finite weights.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { exportModel, LocusError, loadModel } from '../../src/engine/index';
import { golden, tempDir } from '../helpers/paths';
import { digest, runCli } from './harness';
import type { CliRun } from './harness';

const tmp = tempDir('locus-save-guarantee-');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const at = (...p: string[]): string => path.join(tmp, ...p);
const model = golden('gpt2-facts-trained');
const request = at('request.json');
fs.writeFileSync(request, JSON.stringify({ prompt: '{} is located in the city of', subject: 'The Eiffel Tower', target_new: { str: 'Rome' }, target_true: { str: 'Paris' } }));
/** FT-1 on the small golden model: the fastest edit, deterministic (equal runs give equal bytes). */
const save = (target: string): string[] => ['edit', '--model', model, '--method', 'ft', '--layer', '1', '--request', request, '--save', target];
const partials = (target: string): string[] => fs.readdirSync(path.dirname(target)).filter((n) => n.startsWith(`.${path.basename(target)}.locus-partial-`));

/** One file's digest per name: what "equal to a clean export" means. */
const files = (dir: string): Record<string, string> => Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, digest(path.join(dir, n))]));

let reference: Record<string, string>;
/** ms from spawn until the process exits (a whole clean run), and until its partial folder first appears. */
let runMs = 0;
let writeStartMs = 0;
/** ms from the partial folder's appearance until the target appears (the rename): the write phase. */
let writeMs = 0;

before(async () => {
  const target = at('reference');
  const t0 = Date.now();
  let seen = 0;
  let renamed = 0;
  const poll = setInterval(() => {
    if (seen === 0 && partials(target).length > 0) seen = Date.now() - t0;
    if (renamed === 0 && fs.existsSync(target)) renamed = Date.now() - t0;
  }, 1);
  const r = await runCli(save(target));
  clearInterval(poll);
  runMs = Date.now() - t0;
  writeStartMs = seen || runMs * 0.9;
  writeMs = Math.max(5, (renamed || runMs) - writeStartMs);
  assert.equal(r.code, 0, r.stderr);
  reference = files(target);
  assert.deepEqual(Object.keys(reference), ['config.json', 'merges.txt', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.json']);
  assert.deepEqual(partials(target), [], 'a finished export leaves no partial folder');
  // The reference loads and carries the edit (a probe on it answers).
  const p = await runCli(['probe', '--model', target, '--prompt', 'The Eiffel Tower is located in the city of', '--json', '--top', '1']);
  assert.equal(p.code, 0, p.stderr);
});

test('a second clean export is byte for byte the reference (the comparison below is meaningful)', async () => {
  const target = at('again');
  const r = await runCli(save(target));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(files(target), reference);
});

/**
 * Runs `edit --save target` and kills it (SIGKILL) `afterWriteMs` after its partial folder first
 * appears: a kill that surely lands in the write phase, whatever the machine's speed.
 */
function killDuringWrite(target: string, afterWriteMs: number, onSpawn: (pid: number) => void): Promise<CliRun> {
  let poll: NodeJS.Timeout | undefined;
  // The partial folder is named by the writing process's pid: one process, not the CLI's malloc-settings restart (src/cli/respawn.ts).
  return runCli(save(target), {
    env: { ...process.env, LOCUS_MALLOC_TUNING: '0' },
    onSpawn: (pid) => {
      onSpawn(pid);
      poll = setInterval(() => {
        // This run's own folder (a killed earlier run's may still be there).
        if (!partials(target).some((n) => n.endsWith(`-${pid}`))) return;
        clearInterval(poll);
        setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already exited */
          }
        }, afterWriteMs);
      }, 1);
    },
  }).finally(() => clearInterval(poll));
}

test('kill -9 at 20 random points of edit --save: the target is absent or a complete clean export; a rerun then succeeds', async (t) => {
  const target = at('killed');
  let completed = 0;
  let absent = 0;
  let midWrite = 0;
  // 12 kills spread over the whole run by time, 8 inside the write phase (after the partial folder appears).
  const trials = [
    ...Array.from({ length: 12 }, (_, i) => ({ kind: 'time', ms: ((i + Math.random()) / 12) * runMs })),
    // Up to 1.2× the write phase, so that some of them finish.
    ...Array.from({ length: 8 }, (_, i) => ({ kind: 'write', ms: ((i + Math.random()) / 8) * writeMs * 1.2 })),
  ];
  for (const [i, trial] of trials.entries()) {
    let pid = 0;
    const onSpawn = (p: number): void => void (pid = p);
    const r = trial.kind === 'time' ? await runCli(save(target), { killAfterMs: Math.round(trial.ms), onSpawn }) : await killDuringWrite(target, Math.round(trial.ms), onSpawn);
    const where = `trial ${i}, kill ${Math.round(trial.ms)} ms after ${trial.kind === 'time' ? 'the start' : 'the write began'} (a clean run: ${runMs} ms, writing from ${writeStartMs} ms; exit ${r.code}, signal ${r.signal}): ${r.stderr}`;
    if (r.signal === null) assert.equal(r.code, 0, where);
    // This run's own partial folder is still there: it was killed while writing.
    if (partials(target).some((n) => n.endsWith(`-${pid}`))) midWrite++;
    if (fs.existsSync(target)) {
      assert.deepEqual(files(target), reference, `the target exists, so it must be a complete clean export; ${where}`);
      completed++;
      fs.rmSync(target, { recursive: true });
    } else absent++;
  }
  assert.equal(completed + absent, 20);
  t.diagnostic(`clean run ${runMs} ms, writing from ${writeStartMs} ms for ${writeMs} ms; ${completed} runs finished before the kill, ${absent} left no target, ${midWrite} killed mid-write`);
  assert.ok(midWrite > 0, 'some kills landed in the write phase (a partial folder was left)');
  // A kill in the write phase leaves a partial sibling and no target; a rerun into the same target succeeds.
  for (let tries = 0; ; tries++) {
    await killDuringWrite(target, 0, () => undefined);
    if (!fs.existsSync(target)) break;
    assert.ok(tries < 5, 'a kill at the start of the write phase left no target');
    fs.rmSync(target, { recursive: true });
  }
  assert.ok(partials(target).length > 0, 'the killed run left its partial folder');
  const r = await runCli(save(target));
  assert.equal(r.code, 0, `a rerun after a kill must not refuse; ${r.stderr}`);
  assert.deepEqual(files(target), reference);
  assert.deepEqual(partials(target), [], "the rerun removed the killed run's partial folder");
});

test('an existing empty target folder is replaced by the export', async () => {
  const target = at('empty-before');
  fs.mkdirSync(target);
  const r = await runCli(save(target));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(files(target), reference);
});

test('exportModel refuses weights with NaN or Inf, naming the tensor, and writes nothing', async () => {
  const m = await loadModel(model, { threads: 1 });
  try {
    const name = 'blocks.1.mlp.W_out';
    const w = m.param(name);
    const data = new Float32Array(w.data);
    data[3] = Number.NaN;
    data[7] = Number.POSITIVE_INFINITY;
    await m.overrides.set(name, { shape: w.shape, data });
    const target = at('nan-model');
    assert.throws(
      () => exportModel(m, target),
      (e: unknown) => e instanceof LocusError && e.code === 'non-finite' && /weight \S*h\.1\.mlp\.c_proj\.weight of the model to export has 2 non-finite values/.test(e.message),
    );
    assert.ok(!fs.existsSync(target), 'nothing at the target');
    assert.deepEqual(partials(target), [], 'no partial folder either');
  } finally {
    await m.dispose();
  }
});
