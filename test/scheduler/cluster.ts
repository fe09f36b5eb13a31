/**
 * A one-node Slurm cluster in a temporary folder: munged, slurmctld and slurmd from Debian's `munge`
 * and `slurm-wlm` packages, run in the foreground as children of the test (no systemd), every file
 * (key, state, spool, logs, pids, sockets) under the folder, clients pointed at it with SLURM_CONF.
 * Daemons need root (slurmd starts jobs as their user). Settings follow slurm.conf(5) of Slurm 22.05.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const DAEMONS = ['munged', 'slurmctld', 'slurmd'] as const;
const CLIENTS = ['sbatch', 'scontrol', 'sinfo', 'scancel'] as const;

/** `name` on PATH or in the sbin folders (daemons live in /usr/sbin, not always on a user's PATH). */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What is missing for a local cluster: programs, or root. Empty when it can start. */
export function slurmMissing(): string[] {
  const missing: string[] = [...DAEMONS, ...CLIENTS].filter((p) => findProgram(p) === undefined);
  if (process.getuid?.() !== 0) missing.push('root (slurmd starts jobs as their user)');
  return missing;
}

/** Why the Slurm test cannot run here, or undefined. CI sets LOCUS_E2E=1 so that it never skips there. */
export function slurmSkipReason(): string | undefined {
  const missing = slurmMissing();
  if (process.env.LOCUS_E2E === '1' || missing.length === 0) return undefined;
  return `no local Slurm: missing ${missing.join(', ')} (apt-get install slurm-wlm munge, run as root; LOCUS_E2E=1 makes this a failure)`;
}

export interface SlurmCluster {
  readonly dir: string;
  /** The environment for sbatch, scontrol, ... (SLURM_CONF). */
  readonly env: NodeJS.ProcessEnv;
  /** The last lines of each daemon's log, for failure messages. */
  logs(): string;
  /** Cancels what is left, stops the daemons (TERM, then KILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** `slurmd -C`: this machine's CPUs and RealMemory as slurmd sees them. */
async function nodeHardware(slurmd: string): Promise<{ cpus: number; realMemory: number }> {
  const { stdout } = await run(slurmd, ['-C']);
  const field = (k: string): number => Number(new RegExp(`\\b${k}=(\\d+)`).exec(stdout)?.[1] ?? NaN);
  const cpus = field('CPUs');
  const realMemory = field('RealMemory');
  if (!(cpus > 0 && realMemory > 0)) throw new Error(`could not read CPUs and RealMemory from "slurmd -C": ${stdout.trim()}`);
  return { cpus, realMemory };
}

function slurmConf(dir: string, host: string, hw: { cpus: number; realMemory: number }, ports: [number, number], munge: string): string {
  return [
    'ClusterName=locustest',
    // slurmctld refuses to start unless SlurmctldHost is this machine's short host name.
    `SlurmctldHost=${host}(127.0.0.1)`,
    `SlurmctldPort=${ports[0]}`,
    `SlurmdPort=${ports[1]}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${munge}`,
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool`,
    `SlurmctldPidFile=${dir}/run/slurmctld.pid`,
    `SlurmdPidFile=${dir}/run/slurmd.pid`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`,
    `SlurmdLogFile=${dir}/log/slurmd.log`,
    // No cgroups in a container: track job processes through /proc and bind no tasks to CPUs.
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    // The node declares the CPUs below even when the machine has fewer, so that every task of a small
    // array runs at once (a 2-core CI machine would otherwise run --cpus-per-task=2 tasks one by one).
    'SlurmdParameters=config_overrides',
    'MpiDefault=none',
    'SwitchType=switch/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'MailProg=/bin/true',
    'ReturnToService=2',
    // Finished jobs stay visible to "scontrol show job" (their exit codes) for 10 minutes.
    'MinJobAge=600',
    `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${hw.cpus} RealMemory=${hw.realMemory} State=UNKNOWN`,
    `PartitionName=locus Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ].join('\n');
}

const tail = (file: string, n = 15): string => {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
};

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logs: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} within ${timeoutMs / 1000} s\n${logs()}`);
}

/** Starts munged, slurmctld and slurmd under `dir` with a node of at least `minCpus` CPUs; resolves when the node is idle. */
export async function startSlurm(dir: string, minCpus: number): Promise<SlurmCluster> {
  const missing = slurmMissing();
  if (missing.length > 0) throw new Error(`cannot start a local Slurm cluster: missing ${missing.join(', ')} (.ci/run installs slurm-wlm and munge)`);
  const prog = (name: string): string => findProgram(name)!;
  for (const d of ['state', 'spool', 'log', 'run', 'munge']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
  const key = path.join(dir, 'munge', 'munge.key');
  fs.writeFileSync(key, crypto.randomBytes(1024), { mode: 0o400 });
  const socket = path.join(dir, 'run', 'munge.socket');
  const host = os.hostname().split('.')[0];
  const hw = await nodeHardware(prog('slurmd'));
  const conf = path.join(dir, 'slurm.conf');
  fs.writeFileSync(conf, slurmConf(dir, host, { ...hw, cpus: Math.max(hw.cpus, minCpus) }, [await freePort(), await freePort()], socket));
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf };

  const children: ChildProcess[] = [];
  const daemonLog = (name: string): string => path.join(dir, 'log', `${name}.log`);
  const logs = (): string =>
    [...DAEMONS.map((d) => `--- ${d}.log\n${tail(daemonLog(d))}`), ...DAEMONS.map((d) => `--- ${d} stderr\n${tail(path.join(dir, 'log', `${d}.stderr`), 5)}`)].join('\n');
  const start = (name: (typeof DAEMONS)[number], args: string[]): void => {
    const err = fs.openSync(path.join(dir, 'log', `${name}.stderr`), 'a');
    const child = spawn(prog(name), args, { env, stdio: ['ignore', err, err] });
    fs.closeSync(err);
    children.push(child);
  };
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  // A test runner that dies mid-test must not leave daemons behind.
  process.once('exit', killAll);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await run(prog('scancel'), ['--quiet', '--user=root'], { env, timeout: 10_000 }).catch(() => undefined);
    const exits = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()))));
    // Reverse start order: slurmd, slurmctld, then munged, which both authenticate through.
    for (const c of [...children].reverse()) c.kill('SIGTERM');
    const timer = setTimeout(killAll, 5000);
    await Promise.all(exits);
    clearTimeout(timer);
    process.removeListener('exit', killAll);
  };

  try {
    // --force: munged otherwise refuses a socket folder under a world-writable /tmp.
    start('munged', ['--foreground', '--force', `--socket=${socket}`, `--key-file=${key}`, `--log-file=${daemonLog('munged')}`,
      `--pid-file=${path.join(dir, 'run', 'munged.pid')}`, `--seed-file=${path.join(dir, 'munge', 'munged.seed')}`]);
    await waitFor('munged did not open its socket', async () => fs.existsSync(socket), 15_000, logs);
    start('slurmctld', ['-D', '-f', conf]);
    await waitFor('slurmctld did not answer "scontrol ping"', async () => /UP/.test((await run(prog('scontrol'), ['ping'], { env, timeout: 5000 })).stdout), 30_000, logs);
    start('slurmd', ['-D', '-f', conf, '-N', host]);
    await waitFor(`node ${host} did not become idle`, async () => (await run(prog('sinfo'), ['-h', '-n', host, '-o', '%T'], { env, timeout: 5000 })).stdout.trim() === 'idle', 30_000, logs);
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, env, logs, stop };
}

export interface ArrayTask {
  readonly taskId: number;
  readonly state: string;
  readonly exitCode: string;
}

const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'PREEMPTED']);

/** Submits `script` (a file) from `cwd`; returns the job id. */
export async function submit(cluster: SlurmCluster, script: string, cwd: string): Promise<string> {
  const { stdout } = await run(findProgram('sbatch')!, ['--parsable', script], { env: cluster.env, cwd, timeout: 30_000 });
  const id = stdout.trim().split(';')[0];
  if (!/^\d+$/.test(id)) throw new Error(`sbatch answered "${stdout.trim()}", not a job id`);
  return id;
}

/** Polls `scontrol show job` until every task of array job `jobId` has ended (or `timeoutMs` passes). */
export async function waitForArray(cluster: SlurmCluster, jobId: string, tasks: number, timeoutMs: number): Promise<ArrayTask[]> {
  let last: ArrayTask[] = [];
  const read = async (): Promise<ArrayTask[]> => {
    const { stdout } = await run(findProgram('scontrol')!, ['show', 'job', '-o', jobId], { env: cluster.env, timeout: 10_000 });
    return stdout.trim().split('\n').filter((l) => l !== '').map((l) => ({
      taskId: Number(/\bArrayTaskId=(\S+)/.exec(l)?.[1] ?? NaN),
      state: /\bJobState=(\S+)/.exec(l)?.[1] ?? '?',
      exitCode: /\bExitCode=(\S+)/.exec(l)?.[1] ?? '?',
    }));
  };
  const done = (ts: readonly ArrayTask[]): boolean => ts.length === tasks && ts.every((t) => Number.isInteger(t.taskId) && FINAL.has(t.state));
  await waitFor(`array job ${jobId} did not finish`, async () => done((last = await read())), timeoutMs, () => `tasks: ${JSON.stringify(last)}\n${cluster.logs()}`);
  return [...last].sort((a, b) => a.taskId - b.taskId);
}
