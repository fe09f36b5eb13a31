import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { shouldRespawn } from '../../../src/cli/respawn';
import { MALLOC_TUNABLES, withMallocTunables } from '../../../src/protocol/mallocTuning';
import { repoRoot } from '../../helpers/paths';

const cli = path.join(repoRoot, 'dist', 'cli.js');
const linux = process.platform === 'linux';
/** No malloc settings from the environment this test runs in (a benchmark or a user may have set them). */
const bareEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  delete env.LOCUS_MALLOC_TUNING;
  return env;
};

describe('malloc settings', () => {
  test('added to GLIBC_TUNABLES; a tunable the user set keeps its value; LOCUS_MALLOC_TUNING=0 leaves the environment alone', () => {
    assert.equal(withMallocTunables({}).GLIBC_TUNABLES, MALLOC_TUNABLES.join(':'));
    const mixed = withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0:glibc.pthread.rseq=0' }).GLIBC_TUNABLES!.split(':');
    assert.deepEqual(mixed, ['glibc.malloc.trim_threshold=0', 'glibc.pthread.rseq=0', 'glibc.malloc.hugetlb=1', 'glibc.malloc.mmap_threshold=33554432']);
    assert.equal(withMallocTunables({ LOCUS_MALLOC_TUNING: '0' }).GLIBC_TUNABLES, undefined);
  });

  test('the CLI restarts only on Linux, once, and not when the settings are there or switched off', () => {
    assert.equal(shouldRespawn({}, 'linux'), true);
    assert.equal(shouldRespawn({}, 'darwin'), false);
    assert.equal(shouldRespawn({}, 'win32'), false);
    assert.equal(shouldRespawn({ LOCUS_RESPAWNED_BY: '123' }, 'linux'), false);
    assert.equal(shouldRespawn({ LOCUS_MALLOC_TUNING: '0' }, 'linux'), false);
    assert.equal(shouldRespawn(withMallocTunables({}), 'linux'), false);
  });
});

/** Pids of the processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

const alive = (pid: number): boolean => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));

async function until<T>(what: string, get: () => T | undefined, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The restarted CLI: `pid`'s child once it has exec'd (right after fork, /proc shows the parent's copy of
 * the environment; the restart's own marker says exec has happened).
 */
function restartedChild(pid: number): number | undefined {
  return childrenOf(pid).find((c) => {
    try {
      return fs.readFileSync(`/proc/${c}/environ`, 'utf8').includes('LOCUS_RESPAWNED_BY=');
    } catch {
      return false;
    }
  });
}

/** A trace on the embedded model that runs for a few seconds: long enough to find and signal the restarted process. */
function longTrace(): ReturnType<typeof spawn> {
  const args = ['trace', '--model', 'default', '--prompt', 'The Eiffel Tower is located in the city of', '--subject', 'The Eiffel Tower', '--samples', '400', '--json'];
  return spawn(process.execPath, [cli, ...args], { env: bareEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the CLI restarted with the malloc settings (Linux)', { skip: !linux && 'glibc only' }, () => {
  test('the restarted process has the settings; SIGTERM to the CLI reaches it and the CLI dies of SIGTERM', async (t) => {
    const parent = longTrace();
    t.after(() => parent.kill('SIGKILL'));
    const child = await until('the restarted CLI', () => restartedChild(parent.pid!));
    // glibc parses GLIBC_TUNABLES in place at start (its ':' become NULs in /proc/PID/environ): look for each setting.
    const env = fs.readFileSync(`/proc/${child}/environ`, 'utf8');
    for (const t of MALLOC_TUNABLES) assert.ok(env.includes(t), `${t} in the restarted process's environment`);
    assert.ok(!fs.readFileSync(`/proc/${parent.pid}/environ`, 'utf8').includes('glibc.malloc.hugetlb'), 'the first process started without them');
    const exited = new Promise<NodeJS.Signals | null>((r) => parent.on('close', (_code, signal) => r(signal)));
    parent.kill('SIGTERM');
    assert.equal(await exited, 'SIGTERM');
    await until('the restarted CLI to stop', () => (alive(child) ? undefined : true), 5000);
  });

  test('SIGKILL of the CLI stops the restarted process too (no orphan computing on)', async (t) => {
    const parent = longTrace();
    t.after(() => parent.kill('SIGKILL'));
    const child = await until('the restarted CLI', () => restartedChild(parent.pid!));
    parent.kill('SIGKILL');
    await until('the orphan to stop', () => (alive(child) ? undefined : true), 5000);
  });

  test("the exit status and the one-line error are the command's own", async () => {
    const r = spawn(process.execPath, [cli, 'trace', '--model', 'default', '--prompt', 'The Eiffel Tower is in Paris', '--subject', 'Big Ben'], { env: bareEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    r.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => r.on('close', (c) => res(c)));
    assert.equal(code, 2);
    assert.equal(err.trim().split('\n').length, 1, err);
    assert.match(err, /^locus trace: .*Big Ben/);
  });
});
