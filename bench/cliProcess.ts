import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The bundled CLI (`node esbuild.js cli`), as a user runs it. */
export const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Seconds from spawn to exit. */
  readonly wall: number;
  /** User + system CPU seconds of the child, every thread (exact: this process's reaped-children times). */
  readonly cpu: number;
  /** Peak RSS in bytes (VmHWM, polled every 50 ms). */
  readonly peak: number;
  /** The 1-minute load average when the child exited (a long benchmark may share the machine). */
  readonly load: number;
}

/** cutime + cstime of this process (proc(5) fields 16 and 17): CPU seconds of its children already waited for. */
function childrenCpuSeconds(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

/** Runs `node dist/cli.js …args`, one child at a time (the children-CPU difference counts every child reaped meanwhile). */
export function runCli(args: readonly string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; nodeFlags?: readonly string[] } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const c0 = childrenCpuSeconds();
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [...(o.nodeFlags ?? []), CLI, ...args], { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    let peak = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        /* exited between polls */
      }
    }, 50);
    child.on('error', (e) => {
      clearInterval(poll);
      reject(e);
    });
    child.on('close', (status) => {
      clearInterval(poll);
      resolve({
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        wall: Number(process.hrtime.bigint() - t0) / 1e9,
        cpu: childrenCpuSeconds() - c0,
        peak,
        load: os.loadavg()[0],
      });
    });
  });
}

/** "12.3 s wall, cpu 6.1 s, peak 0.41 GB, load 3.2" */
export function describeRun(r: CliRun): string {
  return `${r.wall.toFixed(2)} s wall, cpu ${r.cpu.toFixed(2)} s, peak RSS ${(r.peak / 2 ** 30).toFixed(2)} GiB, load average ${r.load.toFixed(1)}`;
}

/** The last lines of a failed run's stderr, for one report line. */
export function failureTail(r: CliRun): string {
  return r.stderr.trim().split('\n').slice(-2).join(' ');
}
