/**
 * `npm run bench -- scale`: paper-scale models on this machine (issue 17, "lean weights"). Runs the real
 * CLI as a process on the folders bench/makeBigModel.ts writes (GPT-2-XL-shaped float32, GPT-J-6B-shaped
 * bfloat16) and prints wall time, CPU time and peak RSS against the acceptance figures:
 *   GPT-2 XL `locus probe`: peak RSS ≤ 1.3 × the weights file + 0.5 GB, wall ≤ 12 s;
 *   GPT-J 6B `locus probe` and a one-token trace row: peak RSS ≤ 16 GB.
 * Skipped, with the command that makes them, when the folders are absent.
 *
 * Where the GPT-2-XL probe's time went (session 8, 2 threads, `/usr/bin/time -v` + `node --cpu-prof`,
 * machine shared, load average 8–18, so CPU seconds are the figure):
 *   fed weights (d4ec77c): ~40 s CPU = 18–19 s user + 21–31 s kernel; 1.59 M minor faults (every byte
 *     of the 6.2 GB read into fresh memory, ~13 µs a fault on this VM); of the samples: read 36 %,
 *     NaN/Inf scan 20 %, ORT runs 17 %, splitting c_attn into Q/K/V 15 %, GC 5 %, 50 session creations 1 %.
 *   mapped weights (model/mappedWeights.ts): 8.1–8.6 s CPU = ~5.7 s user + ~3 s kernel; 0.19 M faults
 *     (ORT maps the file; the kernel maps 16 page-cache pages a fault); of the samples: ORT runs ~50 %
 *     (first touch of the mapped pages, MatMul packing B per call), the NaN/Inf scan of the mapped
 *     tensors read through one 16 MiB buffer + the 321 MB token table that interp/embed.ts reads whole
 *     to gather 7 rows ~40 %, session creation ~4 %. An ORT ReduceSum check instead of the JavaScript
 *     scan was measured slower (2.8 s vs 1.3 s CPU for 4.8 GB) and dropped.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIG_MODELS_DIR, gpt2XlSpec, gptj6bSpec } from './makeBigModel';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const GB = 1e9;

interface Measured {
  readonly wall: number;
  readonly cpu: number;
  /** Peak resident set (VmHWM) in bytes. */
  readonly peak: number;
  /** Seconds the main thread sat runnable waiting for a core (/proc/PID/schedstat): machine load, not the work. */
  readonly waited: number;
  readonly ok: boolean;
  readonly tail: string;
}

const kib = (status: string, key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
const cpuSeconds = (stat: string): number => {
  // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th (proc(5)).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

/** Runs `node dist/cli.js args…`, reading its VmHWM and CPU time from /proc every 50 ms until it exits. */
function measure(args: string[]): Promise<Measured> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let peak = 0;
    let cpu = 0;
    let waited = 0;
    const poll = setInterval(() => {
      try {
        peak = Math.max(peak, kib(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'), 'VmHWM'));
        cpu = cpuSeconds(fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8'));
        // schedstat: time on a CPU, time waiting on a run queue, timeslices (ns; sched-stats.rst).
        waited = Number(fs.readFileSync(`/proc/${child.pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
      } catch {
        /* exited between polls */
      }
    }, 50);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu, peak, waited, ok: code === 0, tail: out.trim().split('\n').slice(-4).join('\n') });
    });
  });
}

function report(what: string, m: Measured, limits: { peak: number; wall?: number }): void {
  const verdict = (ok: boolean): string => (ok ? 'ok' : 'OVER');
  const wall = limits.wall === undefined ? '' : ` (goal ≤ ${limits.wall} s: ${verdict(m.wall <= limits.wall)})`;
  console.log(`  ${what}: ${m.ok ? '' : 'FAILED, '}wall ${m.wall.toFixed(1)} s${wall}, cpu ${m.cpu.toFixed(1)} s, ` +
    `peak RSS ${(m.peak / GB).toFixed(2)} GB (goal ≤ ${(limits.peak / GB).toFixed(2)} GB: ${verdict(m.peak <= limits.peak)}); ` +
    `main thread waited ${m.waited.toFixed(1)} s for a core (load average ${os.loadavg()[0].toFixed(1)}: wall minus that ≈ ${(m.wall - m.waited).toFixed(1)} s)`);
  if (!m.ok) console.log(m.tail.replace(/^/gm, '    '));
}

const PROMPT = 'The Eiffel Tower is in';

/**
 * Seconds to touch 1 GB of freshly allocated memory (one write per 4 KiB page). On a VM with
 * transparent huge pages off (`madvise`), each page fault is expensive: measured 1.5–3.5 s/GB here,
 * which any process holding a 6 GB model pays once, whatever it does with the weights.
 */
function touchSecondsPerGB(): number {
  const t0 = process.hrtime.bigint();
  const a = new Float32Array(GB / 4);
  for (let i = 0; i < a.length; i += 1024) a[i] = 1;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function benchScale(threads: number): Promise<void> {
  if (!fs.existsSync(CLI)) {
    console.log(`scale: skipped, ${CLI} is missing (node esbuild.js cli)`);
    return;
  }
  const t = ['--threads', String(threads)];
  const xl = gpt2XlSpec().folder;
  const j = gptj6bSpec().folder;
  const make = (which: string): string => `node out/bench/makeBigModel.js ${which} (writes under ${BIG_MODELS_DIR}; LOCUS_BIG_MODELS moves it)`;
  const file = (folder: string): string => path.join(folder, 'model.safetensors');
  // LOCUS_SCALE_MODELS=gpt2-xl (or gptj-6b): only that one (GPT-J's probe alone takes minutes).
  const only = process.env.LOCUS_SCALE_MODELS?.split(',');
  const wanted = (which: string): boolean => only === undefined || only.includes(which);
  if (!wanted('gpt2-xl')) console.log('scale: GPT-2 XL skipped (LOCUS_SCALE_MODELS)');
  else if (fs.existsSync(file(xl))) {
    const bytes = fs.statSync(file(xl)).size;
    console.log(`scale, ${threads} thread(s): GPT-2-XL-shaped float32, ${(bytes / GB).toFixed(2)} GB of weights`);
    const m = await measure(['probe', '--model', xl, '--prompt', PROMPT, ...t]);
    report('locus probe', m, { peak: 1.3 * bytes + 0.5 * GB, wall: 12 });
    console.log(`  peak RSS / weights: ${(m.peak / bytes).toFixed(2)}× (before lean weights: 13.9 GB = 2.2×, 32.6 s; lean, fed: 6.30 GB, ~40 s CPU; mapped: ~9 s CPU)`);
    const touch = touchSecondsPerGB();
    console.log(`  this machine faults in fresh memory at ${touch.toFixed(2)} s/GB: reading the weights into the process would cost ≥ ${(touch * bytes / GB).toFixed(1)} s; mapped weights (model/mappedWeights.ts) never do`);
  } else console.log(`scale: GPT-2 XL skipped, ${xl} is absent; make it with: ${make('gpt2-xl')}`);
  if (!wanted('gptj-6b')) console.log('scale: GPT-J 6B skipped (LOCUS_SCALE_MODELS)');
  else if (fs.existsSync(file(j))) {
    const bytes = fs.statSync(file(j)).size;
    console.log(`scale, ${threads} thread(s): GPT-J-6B-shaped bfloat16, ${(bytes / GB).toFixed(2)} GB of weights`);
    report('locus probe', await measure(['probe', '--model', j, '--prompt', PROMPT, ...t]), { peak: 16 * GB });
    const row = ['trace', '--model', j, '--prompt', 'Paris', '--subject', 'Paris', '--kind', 'hidden', '--samples', '2', ...t];
    report('locus trace, one token row (hidden, 2 samples)', await measure(row), { peak: 16 * GB });
  } else console.log(`scale: GPT-J 6B skipped, ${j} is absent; make it with: ${make('gptj-6b')}`);
}
