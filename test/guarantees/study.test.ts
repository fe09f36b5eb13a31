/**
 * Guarantees of `locus study` (issue 15): one writer per study folder (a second one is refused with the
 * holder's pid; a dead holder's lock is taken over), no key written twice, `analyze` refuses a folder
 * written twice, Ctrl-C exits 130 and resumes to the uninterrupted result, and bad `--out` / inputs are
 * one line, exit 2, before any model work and without touching the model's folder.
 * Studies here are FT edits on the embedded model (about half a second each).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { LocusError, loadModel, lockFolder, runStudy } from '../../src/engine/index';
import type { StudySpec } from '../../src/engine/index';
import { repoRoot, tempDir } from '../helpers/paths';
import { checkRun, guaranteeRows, runCli } from './harness';
import type { CliRun } from './harness';

const tmp = tempDir('locus-guarantee-study-');
// Readable by the unprivileged rows (they run as "nobody" and must reach their own fixtures).
fs.chmodSync(tmp, 0o755);
after(() => {
  for (const d of ['private', 'read-only']) if (fs.existsSync(at(d))) fs.chmodSync(at(d), 0o755);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const at = (...p: string[]): string => path.join(tmp, ...p);
const datasetFile = path.join(repoRoot, 'assets', 'data', 'counterfact_sample.json');
const CASE = String((JSON.parse(fs.readFileSync(datasetFile, 'utf8')) as { case_id: number }[])[0].case_id);
const modelCopy = at('model-copy');

before(() => {
  fs.cpSync(path.join(repoRoot, 'assets', 'default-model'), modelCopy, { recursive: true });
  fs.writeFileSync(at('a-file'), 'not a folder\n');
  fs.mkdirSync(at('read-only'));
  fs.chmodSync(at('read-only'), 0o555);
  fs.mkdirSync(at('no-study'));
});

/** `study run` of one fact, FT, the given layers, into `out` (cwd tmp, so nothing lands in the repo). */
const study = (out: string, layers = '0', ...more: string[]): string[] => ['study', 'run', '--model', 'default', '--cases', CASE, '--methods', 'ft', '--layers', layers, '--out', out, ...more];
const run = (argv: readonly string[], opts: Parameters<typeof runCli>[1] = {}): Promise<CliRun> => runCli(argv, { cwd: tmp, ...opts });

interface Row {
  readonly caseId: number;
  readonly method: string;
  readonly problem: string;
  readonly layer: number;
}
const rowsOf = (dir: string): Row[] => {
  const f = path.join(dir, 'results.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Row) : [];
};
const keysOf = (dir: string): string[] => rowsOf(dir).map((r) => `${r.caseId}|${r.method}|${r.problem}|${r.layer}`);
/** Rows without timing, numbers to 9 digits (separate processes agree; this only guards against thread-order round-off). */
const content = (dir: string): unknown[] =>
  rowsOf(dir).map((r) => JSON.parse(JSON.stringify({ ...r, seconds: 0 }, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v))));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A live process's parent pid (proc(5) stat field 4). */
function parentOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The pid of a process that has ended. */
const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());

// The uninterrupted reference: all 8 layers of the embedded model (also the first writer below).
const whole = at('whole');

test('two concurrent runs on one --out: the second is refused naming the first one\'s pid; the first finishes; no key twice', async () => {
  let firstPid = 0;
  const first = run(study(whole, 'all'), { onSpawn: (pid) => (firstPid = pid) });
  // Start the second writer once the first holds the lock (its study runs ~5 s longer than the second needs to load).
  await waitFor(() => fs.existsSync(path.join(whole, '.lock')), 'the first run to lock the folder');
  // The writer is the CLI process started, or on Linux the one it restarted itself as (src/cli/respawn.ts): its parent is the started one.
  const holder = (JSON.parse(fs.readFileSync(path.join(whole, '.lock'), 'utf8')) as { pid: number }).pid;
  assert.ok(holder === firstPid || parentOf(holder) === firstPid, `lock holder ${holder} is the first run (${firstPid})`);
  const second = await run(study(whole, 'all'));
  checkRun({ exit: 2, message: new RegExp(`--out .*whole is being written by process ${holder} \\(started [^)]+\\); wait for it or stop it`) }, second);
  checkRun({ exit: 0 }, await first);
  const keys = keysOf(whole);
  assert.equal(keys.length, 8);
  assert.equal(new Set(keys).size, keys.length, 'no duplicate keys');
  assert.ok(!fs.existsSync(path.join(whole, '.lock')), 'the lock is released');
  checkRun({ exit: 0 }, await run(['study', 'analyze', whole]));
});

test('a stale lock (its process has ended) is taken over with a note, and the run finishes', async () => {
  const dir = at('stale');
  const pid = deadPid();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ pid, host: os.hostname(), started: '2026-01-01T00:00:00.000Z', token: 'gone' }));
  const r = await run(study(dir));
  checkRun({ exit: 0 }, r);
  assert.match(r.stderr, new RegExp(`note: .*locked by process ${pid} .*which has ended; taking the folder over`));
  assert.equal(rowsOf(dir).length, 1);
  assert.ok(!fs.existsSync(path.join(dir, '.lock')));
});

test('repeated methods and layers are one key: --methods ft,ft --layers 0,0 writes one row', async () => {
  const dir = at('dedupe');
  checkRun({ exit: 0 }, await run(['study', 'run', '--model', 'default', '--cases', `${CASE},${CASE}`, '--methods', 'ft,ft', '--layers', '0,0', '--out', dir]));
  assert.deepEqual(keysOf(dir), [`${CASE}|ft|error-injection|0`]);
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { spec: { methods: string[]; layers: number[]; cases: number[] } };
  assert.deepEqual([m.spec.cases, m.spec.methods, m.spec.layers], [[Number(CASE)], ['ft'], [0]]);
});

test('Ctrl-C during a study: exit 130, one line saying to resume; the rerun gives the uninterrupted rows', async () => {
  const dir = at('interrupted');
  let pid = 0;
  const running = run(study(dir, 'all'), { onSpawn: (p) => (pid = p) });
  await waitFor(() => rowsOf(dir).length >= 1, 'the first row');
  process.kill(pid, 'SIGINT');
  const r = await running;
  checkRun({ exit: 130, message: /^locus study: interrupted; resume with the same command\n$/ }, r);
  const kept = rowsOf(dir).length;
  assert.ok(kept >= 1 && kept < 8, `stopped after the current step (${kept} of 8 rows)`);
  assert.ok(!fs.existsSync(path.join(dir, '.lock')), 'the lock is released on Ctrl-C');
  const again = await run(study(dir, 'all'));
  checkRun({ exit: 0 }, again);
  assert.match(again.stdout, new RegExp(`8/8 edits .*\\(${8 - kept} run now, ${kept} resumed\\)`));
  assert.deepEqual(content(dir), content(whole));
});

/** A study folder whose results.jsonl repeats its 3rd line at the end (line 9). */
const doubled = at('doubled');
const damaged = at('damaged');

guaranteeRows([
  // analyze: a folder written twice, and folders that are not studies.
  {
    name: 'analyze refuses a results.jsonl with a repeated key, naming both lines',
    before: () => {
      fs.cpSync(whole, doubled, { recursive: true });
      fs.appendFileSync(path.join(doubled, 'results.jsonl'), fs.readFileSync(path.join(whole, 'results.jsonl'), 'utf8').split('\n')[2] + '\n');
    },
    argv: ['study', 'analyze', doubled], exit: 2,
    message: new RegExp(`results\\.jsonl:9 repeats the key of line 3 \\(method ft, problem error-injection, layer 2, case ${CASE}\\): the folder was written twice; remove the duplicates or re-run into a new folder`),
    unchanged: [doubled],
  },
  {
    name: 'analyze --json refuses it too (the worker reads through the same check)',
    argv: ['study', 'analyze', doubled, '--json'], exit: 2, message: /results\.jsonl:9 repeats the key of line 3/,
  },
  {
    name: 'merge keeps identical duplicates once (its own rule)',
    argv: () => ['study', 'merge', doubled, '--out', at('merged-doubled')], exit: 0,
  },
  {
    name: 'analyze: a line that is JSON but not a study row is named',
    before: () => {
      fs.cpSync(whole, damaged, { recursive: true });
      fs.appendFileSync(path.join(damaged, 'results.jsonl'), '{"caseId": 1}\n');
    },
    argv: ['study', 'analyze', damaged], exit: 2, message: /results\.jsonl:9 is not a study result \(method or problem is not a string\)/,
  },
  {
    name: 'analyze: a study folder this user cannot read says so (unprivileged), not "not a study"',
    before: () => {
      fs.cpSync(whole, at('private'), { recursive: true });
      fs.chmodSync(at('private'), 0o000);
    },
    argv: ['study', 'analyze', at('private')], unprivileged: true, cwd: () => tmp, exit: 2, message: /study manifest .*private\/manifest\.json: permission denied/,
  },
  {
    name: 'analyze: an unreadable results.jsonl (unprivileged)',
    before: () => {
      fs.cpSync(whole, at('private-results'), { recursive: true });
      fs.chmodSync(at('private-results', 'results.jsonl'), 0o000);
    },
    argv: ['study', 'analyze', at('private-results')], unprivileged: true, cwd: () => tmp, exit: 2, message: /study results .*private-results\/results\.jsonl: permission denied/,
  },
  { name: 'analyze: a folder that does not exist', argv: ['study', 'analyze', at('nowhere')], exit: 2, message: /study folder .*nowhere does not exist/ },
  { name: 'analyze: a file instead of a folder', argv: ['study', 'analyze', at('a-file')], exit: 2, message: /a-file is a file; give the folder a study run wrote/ },
  { name: 'analyze: a folder without a manifest', argv: ['study', 'analyze', at('no-study')], exit: 2, message: /no-study is not a study folder \(no manifest\.json\)/ },
  {
    name: 'analyze: a manifest that is not an object',
    before: () => {
      fs.mkdirSync(at('array-manifest'));
      fs.writeFileSync(at('array-manifest', 'manifest.json'), '[]');
    },
    argv: ['study', 'analyze', at('array-manifest')], exit: 2, message: /manifest\.json must hold a JSON object/,
  },

  // run: bad values, refused before the model loads.
  { name: 'run: --seed beyond a 32-bit RandomState seed', argv: study(at('s1'), '0', '--seed', '99999999999'), exit: 2, message: /--seed must be an integer from 0 to 4294967295 \(got "99999999999"\)/, absent: [at('s1')] },
  { name: 'run: --seed -1', argv: study(at('s1'), '0', '--seed', '-1'), exit: 2, message: /--seed must be an integer from 0 to 4294967295/, absent: [at('s1')] },
  { name: 'run: a reversed --cases range', argv: ['study', 'run', '--cases', '5-3', '--methods', 'ft', '--layers', '0', '--out', at('s1')], exit: 2, message: /--cases "5-3": range 5-3 is reversed/, absent: [at('s1')] },
  { name: 'run: --cases known:0', argv: ['study', 'run', '--cases', 'known:0', '--methods', 'ft', '--layers', '0', '--out', at('s1')], exit: 2, message: /--cases "known:0"/, absent: [at('s1')] },
  { name: 'run: a case_id the dataset lacks', argv: ['study', 'run', '--cases', '999999999', '--methods', 'ft', '--layers', '0', '--out', at('s1')], exit: 2, message: /no record in .* has case_id 999999999/, absent: [at('s1')] },
  { name: 'run: a layer past the model', argv: study(at('s1'), '8'), exit: 2, message: /--layers must be an integer from 0 to 7 \(got "8"\)/, absent: [at('s1')] },
  { name: 'run: a negative layer', argv: study(at('s1'), '-1'), exit: 2, message: /--layers must be an integer from 0/, absent: [at('s1')] },
  { name: 'run: an unknown method', argv: ['study', 'run', '--cases', CASE, '--methods', 'ft,sgd', '--layers', '0', '--out', at('s1')], exit: 2, message: /--methods: "sgd" is not one of/, absent: [at('s1')] },
  { name: 'run: --shard 2/2', argv: study(at('s1'), '0', '--shard', '2/2'), exit: 2, message: /--shard must be i\/n with 0 ≤ i < n/, absent: [at('s1')] },
  { name: 'run: --dataset that does not exist', argv: study(at('s1'), '0', '--dataset', at('nowhere.json')), exit: 2, message: /nowhere\.json does not exist/, absent: [at('s1')] },
  { name: 'run: --threads 0', argv: study(at('s1'), '0', '--threads', '0'), exit: 2, message: /--threads must be an integer/, absent: [at('s1')] },

  // run --out: never a file, a system folder, an unwritable folder or the model's folder.
  { name: 'run: --out is a file', argv: study(at('a-file')), exit: 2, message: /--out .*a-file is a file, expected a folder/, unchanged: [at('a-file')] },
  { name: 'run: --out under a file', argv: study(at('a-file', 'sub')), exit: 2, message: /--out .*a-file.*(is a file|a part of the path is a file)/, unchanged: [at('a-file')] },
  { name: 'run: --out under /proc', argv: study('/proc/locus-study'), exit: 2, message: /--out \/proc\/locus-study is under \/proc, a system folder/ },
  {
    name: 'run: --out inside the model folder; the model folder is unchanged',
    argv: ['study', 'run', '--model', modelCopy, '--cases', CASE, '--methods', 'ft', '--layers', '0', '--out', path.join(modelCopy, 'study')],
    exit: 2, message: /--out .*model-copy\/study is inside the model folder .*model-copy: Locus never writes there/, unchanged: [modelCopy],
  },
  {
    name: 'run: --out the model folder itself',
    argv: ['study', 'run', '--model', modelCopy, '--cases', CASE, '--methods', 'ft', '--layers', '0', '--out', modelCopy],
    exit: 2, message: /--out .*model-copy is inside the model folder/, unchanged: [modelCopy],
  },
  {
    name: 'run: --out a read-only folder (unprivileged)',
    argv: study(at('read-only')), unprivileged: true, cwd: () => tmp,
    exit: 2, message: /--out .*read-only: the folder is not writable \(permission denied\)/, unchanged: [at('read-only')],
  },
  {
    name: 'run: --out a new folder under a read-only one (unprivileged)',
    argv: study(at('read-only', 'new')), unprivileged: true, cwd: () => tmp,
    exit: 2, message: /--out .*read-only\/new: cannot create it, .*read-only is not writable/, unchanged: [at('read-only')],
  },

  // merge --out: the same checks; the lock is taken while it writes.
  { name: 'merge: --out is a file', argv: () => ['study', 'merge', whole, '--out', at('a-file')], exit: 2, message: /--out .*a-file is a file, expected a folder/, unchanged: [at('a-file')] },
  { name: 'merge: --out under /proc', argv: () => ['study', 'merge', whole, '--out', '/proc/locus-merge'], exit: 2, message: /under \/proc/ },
  { name: 'merge: --out a read-only folder (unprivileged)', argv: () => ['study', 'merge', whole, '--out', at('read-only')], unprivileged: true, cwd: () => tmp, exit: 2, message: /the folder is not writable/, unchanged: [at('read-only')] },
  { name: 'merge: --out already holds results', argv: () => ['study', 'merge', whole, '--out', whole], exit: 2, message: /already holds results; merge into a new folder/, unchanged: [whole] },
  { name: 'merge: a folder that is not a study', argv: () => ['study', 'merge', whole, at('no-study'), '--out', at('m1')], exit: 2, message: /no-study is not a study folder/, absent: [at('m1')] },
  {
    name: 'merge: into a folder another process is writing',
    before: () => {
      fs.mkdirSync(at('merge-busy'));
      fs.writeFileSync(at('merge-busy', '.lock'), JSON.stringify({ pid: process.pid, host: os.hostname(), started: 'now', token: 't' }));
    },
    argv: () => ['study', 'merge', whole, '--out', at('merge-busy')], exit: 2, message: new RegExp(`--out .*merge-busy is being written by process ${process.pid}`),
  },
]);

test('nothing was written into the model copy by any row', () => {
  assert.deepEqual(fs.readdirSync(modelCopy).sort(), fs.readdirSync(path.join(repoRoot, 'assets', 'default-model')).sort());
});

test('the engine (what the worker calls) keeps the same guarantees without the CLI', async () => {
  const model = await loadModel('default');
  try {
    const spec: StudySpec = { cases: [Number(CASE)], methods: ['ft'], problems: ['error-injection'], layers: [0], dataset: datasetFile, seed: 0 };
    const rejects = (p: Promise<unknown>, code: string, re: RegExp): Promise<void> => assert.rejects(p, (e: unknown) => e instanceof LocusError && e.code === code && re.test(e.message));
    await rejects(runStudy(model, spec, { outDir: at('a-file') }), 'bad-input', /^study folder .*a-file is a file, expected a folder$/);
    await rejects(runStudy(model, spec, { outDir: path.join(model.manifest.path, 'study') }), 'bad-input', /is inside the model folder/);
    await rejects(runStudy(model, { ...spec, seed: 2 ** 32 }, { outDir: at('e1') }), 'bad-input', /seed 4294967296 must be an integer from 0 to 4294967295/);
    const held = lockFolder(at('engine-busy'));
    try {
      await rejects(runStudy(model, spec, { outDir: at('engine-busy') }), 'busy', new RegExp(`being written by process ${process.pid}`));
    } finally {
      held.release();
    }
    const s = await runStudy(model, { ...spec, methods: ['ft', 'ft'], layers: [0, 0, 0] }, { outDir: at('engine-dedupe') });
    assert.deepEqual([s.total, s.ran], [1, 1]);
    assert.deepEqual(keysOf(at('engine-dedupe')), [`${CASE}|ft|error-injection|0`]);
    assert.ok(!fs.existsSync(at('engine-dedupe', '.lock')));
    assert.ok(!fs.existsSync(at('e1')) && !fs.existsSync(at('engine-busy')));
  } finally {
    await model.dispose();
  }
});
