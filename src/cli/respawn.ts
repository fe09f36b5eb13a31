import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { hasMallocTunables, MALLOC_TUNING_SWITCH, withMallocTunables } from '../protocol/mallocTuning';

/** Set in the restarted process's environment: the pid of the process that restarted it. */
const RESPAWNED = 'LOCUS_RESPAWNED_BY';

/** Signals a user or a supervisor sends to one pid (kill, systemd, an editor's task runner), passed on to the restarted CLI. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];

/**
 * Whether this CLI process should restart itself with the malloc settings (protocol/mallocTuning.ts):
 * on Linux (glibc reads them at exec only), unless they are already set, switched off, or this is the
 * restarted process.
 */
export function shouldRespawn(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'linux' && env[MALLOC_TUNING_SWITCH] !== '0' && env[RESPAWNED] === undefined && !hasMallocTunables(env);
}

/**
 * Runs this same CLI command again in a child process whose environment carries the malloc settings,
 * and resolves with its exit code; the child inherits stdin, stdout and stderr, so it behaves as this
 * process would. Signals: Ctrl-C in a terminal reaches the child directly (same process group), so a
 * SIGINT is passed on only when no terminal is attached (a script's `kill -INT`; passing it on as well
 * would be a second Ctrl-C, which kills at once); SIGTERM and SIGHUP are passed on. A child killed by
 * a signal makes this process die of the same signal. If this process is killed (SIGKILL), the child
 * notices within a quarter second and stops too (watchParent).
 */
export function respawnWithMallocTunables(): Promise<number> {
  const env = { ...withMallocTunables(process.env), [RESPAWNED]: String(process.pid) };
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env, stdio: 'inherit' });
  const terminal = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY;
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of [...FORWARDED, 'SIGINT' as const]) {
    const pass = sig !== 'SIGINT' || !terminal;
    const h = (): void => {
      if (pass) child.kill(sig);
    };
    handlers.set(sig, h);
    process.on(sig, h);
  }
  return new Promise((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      for (const [sig, h] of handlers) process.off(sig, h);
      if (signal) process.kill(process.pid, signal);
      resolve(code ?? 1);
    };
    child.on('exit', done);
    child.on('error', (e) => {
      process.stderr.write(`locus: could not restart with the malloc settings (${e.message}); set ${MALLOC_TUNING_SWITCH}=0 to run without them\n`);
      done(1, null);
    });
  });
}

/**
 * In a restarted CLI: stops this process when the one that started it is gone (killed with SIGKILL,
 * which it cannot pass on), as a single CLI process would have stopped.
 */
export function watchParent(env: NodeJS.ProcessEnv = process.env): void {
  const parent = Number(env[RESPAWNED]);
  // Not passed on to processes this one starts: their parent is this process.
  delete env[RESPAWNED];
  if (!Number.isInteger(parent) || parent <= 0) return;
  if (process.ppid !== parent) {
    // The starter died before this process got here (it was reparented): stop now. A live starter that is
    // not the parent set the marker for another process (inherited through a program that kept it): ignore it.
    if (!running(parent)) process.kill(process.pid, 'SIGKILL');
    return;
  }
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }, 250).unref();
}

/** Whether process `pid` exists and has not exited (a zombie, killed but not yet reaped, has: proc(5) state Z). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
