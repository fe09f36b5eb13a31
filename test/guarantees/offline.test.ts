/**
 * Guarantee: nothing leaves the machine and nothing is written outside the workspace and the output
 * folder. onnxruntime-node's Linux build has Microsoft's telemetry on by default (a device id and an
 * event database under ~/.cache/Microsoft, `mat-debug-<pid>.log` in the temp folder, lookups of an
 * events host); src/engine/runtime/offline.ts turns it off before the library loads.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, tempDir } from '../helpers/paths';
import { cliPath, runCli } from './harness';

/** Every file and folder under `dir`, relative. */
function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const n of fs.readdirSync(d)) {
      out.push(path.join(rel, n));
      if (fs.lstatSync(path.join(d, n)).isDirectory()) walk(path.join(d, n), path.join(rel, n));
    }
  };
  walk(dir, '');
  return out.sort();
}

const matDebugLogs = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.startsWith('mat-debug-')) : []);

/** A fresh HOME, TMPDIR and workspace: the CLI runs there as a new user would. */
function freshEnv(root: string): { home: string; tmp: string; work: string; env: NodeJS.ProcessEnv } {
  const home = path.join(root, 'home');
  const tmp = path.join(root, 'tmp');
  const work = path.join(root, 'work');
  for (const d of [home, tmp, work]) fs.mkdirSync(d);
  // Only what node needs: no inherited ORT_DISABLE_TELEMETRY (the test runner's own process sets it).
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, TMPDIR: tmp, XDG_CACHE_HOME: '', LOCUS_SHARED: process.env.LOCUS_SHARED };
  return { home, tmp, work, env };
}

const PROMPT = 'The Eiffel Tower is located in the city of';

/** The bundled CounterFact sample's first case_id. */
const firstCaseId = (): number => (JSON.parse(fs.readFileSync(path.join(repoRoot, 'assets', 'data', 'counterfact_sample.json'), 'utf8')) as Array<{ case_id: number }>)[0].case_id;

describe('offline: no telemetry, no stray files, no network', () => {
  let root: string;
  before(() => (root = tempDir('locus-offline-')));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('the engine turns onnxruntime telemetry off before the library loads (in this process too)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../../src/engine/index');
    assert.equal(process.env.ORT_DISABLE_TELEMETRY, '1');
  });

  test('probe, trace and an edit with --save in a fresh HOME/TMPDIR write only the workspace, the output folder and Locus\'s own cost record', async () => {
    const { home, tmp, work, env } = freshEnv(fs.mkdtempSync(path.join(root, 'a-')));
    const systemTmpBefore = new Set(matDebugLogs('/tmp'));
    const runs = [
      ['probe', '--prompt', PROMPT, '--top', '3'],
      ['trace', '--prompt', PROMPT, '--subject', 'The Eiffel Tower', '--kind', 'hidden', '--samples', '2', '--html', 'report.html'],
      ['edit', '--method', 'ft', '--case', String(firstCaseId()), '--save', 'edited'],
    ];
    for (const argv of runs) {
      const r = await runCli(argv, { cwd: work, env });
      assert.equal(r.code, 0, `${argv[0]}: ${r.stderr}`);
    }
    // The one file in HOME is Locus's documented user-level cache: the trace's measured cost per run for
    // the next cost preview (README "Cost preview"); nothing of onnxruntime's (~/.cache/Microsoft/…).
    assert.deepEqual(listTree(home), ['.cache', '.cache/locus', '.cache/locus/cost.json'], 'HOME holds only Locus\'s cost record (no ~/.cache/Microsoft/DeveloperTools/.onnxruntime)');
    assert.deepEqual(listTree(tmp), [], 'TMPDIR stays empty (no mat-debug-<pid>.log, no .ses)');
    assert.deepEqual(matDebugLogs('/tmp').filter((n) => !systemTmpBefore.has(n)), [], 'no new /tmp/mat-debug-* either');
    const written = listTree(work).filter((p) => !p.includes(path.sep));
    assert.deepEqual(written.filter((p) => !['report.html', 'edited', '.locus'].includes(p)), [], `the workspace holds only the outputs: ${written.join(', ')}`);
    assert.ok(fs.existsSync(path.join(work, 'edited', 'model.safetensors')));
  });

  /** strace's connect() lines that reach beyond this machine (AF_INET/AF_INET6 to a non-loopback address). */
  function outboundConnects(log: string): string[] {
    return log.split('\n').filter((l) => /connect\(|sendto\(|sendmsg\(/.test(l) && /AF_INET6?/.test(l) && !/127\.0\.0\.1|inet_pton\(AF_INET6, "::1"|"::ffff:127\./.test(l));
  }

  const strace = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  const haveStrace = strace.status === 0;
  // CI (LOCUS_E2E=1) installs strace in .ci/run: there a missing strace is a failure, not a skip.
  const skipStrace = !haveStrace && process.env.LOCUS_E2E !== '1' ? 'strace is not installed (CI installs it)' : false;

  test('a CLI trace under strace makes no connection beyond the machine (only loopback or local sockets)', { skip: skipStrace }, () => {
    assert.ok(haveStrace, 'strace must be installed (.ci/run installs it)');
    const { work, env } = freshEnv(fs.mkdtempSync(path.join(root, 'b-')));
    const log = path.join(root, 'strace.log');
    // -f follows onnxruntime's threads; network syscalls only. A long enough run: telemetry used to
    // start its uploader after ~10 s, so the trace runs every kind with several samples.
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=network', '-o', log, process.execPath, cliPath, 'trace', '--prompt', PROMPT, '--subject', 'The Eiffel Tower', '--samples', '10'], { cwd: work, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const text = fs.readFileSync(log, 'utf8');
    assert.deepEqual(outboundConnects(text), [], 'no outbound connect/sendto');
    // The check can fail: the same filter sees a real outbound attempt (a DNS query to a resolver).
    const probeLog = path.join(root, 'strace-probe.log');
    spawnSync('strace', ['-f', '-qq', '-e', 'trace=network', '-o', probeLog, process.execPath, '-e', "require('node:dns').lookup('example.invalid', () => {})"], { encoding: 'utf8', timeout: 20_000 });
    const resolverTried = outboundConnects(fs.readFileSync(probeLog, 'utf8')).length > 0 || !fs.existsSync('/etc/resolv.conf') || !/nameserver\s+(?!127\.)/.test(fs.readFileSync('/etc/resolv.conf', 'utf8'));
    assert.ok(resolverTried, 'the filter recognises an outbound DNS attempt (sanity check of the check itself)');
  });

  const unshareOk = spawnSync('unshare', ['-n', 'true']).status === 0;
  test('the CLI works in a network namespace with no network at all (unshare -n)', { skip: unshareOk ? false : 'unshare -n is not permitted here' }, () => {
    const { work, env } = freshEnv(fs.mkdtempSync(path.join(root, 'c-')));
    const r = spawnSync('unshare', ['-n', process.execPath, cliPath, 'probe', '--prompt', PROMPT, '--top', '1', '--json'], { cwd: work, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(typeof JSON.parse(r.stdout).top[0].prob, 'number');
  });
});
