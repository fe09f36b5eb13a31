import * as fs from 'node:fs';
import * as os from 'node:os';
import { prepareTraceSessions } from '../src/engine/methods/causalTrace/prepare';
import { runCausalTrace } from '../src/engine/methods/causalTrace/trace';
import type { TraceKind } from '../src/engine/methods/causalTrace/types';
import type { LoadedModel } from '../src/engine/model/model';
import { CLI, describeRun, failureTail, runCli } from './cliProcess';
import { fakeGpt2Small } from './fakeModel';
import { GPT2_TOKENIZER_FROM, gpt2SmallSpec, writeBigModel } from './makeBigModel';

/** ROME's PyTorch code on this grid, on this machine (research/performance.md); the goal is ≥ 15× that. */
const ROME_SECONDS = 185;

interface Timed {
  readonly wall: number;
  /** CPU seconds of this process (user + system, every thread): steadier than wall time on a shared machine. */
  readonly cpu: number;
}

async function timed(run: () => Promise<unknown>): Promise<Timed> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await run();
  const c = process.cpuUsage(c0);
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}

const fmt = (t: Timed): string => `${t.wall.toFixed(2)} s (cpu ${t.cpu.toFixed(2)} s)`;

/**
 * Generates the random model's weights before anything is timed: a real model reads them at load
 * (`locus trace` as a process pays that once, a worker before its first trace), not at the first grid.
 */
function touchWeights(model: LoadedModel): void {
  for (let l = 0; l < model.config.n_layers; l++) model.sessions.graph(`block.${l}.lean`);
  model.sessions.graph('unembed');
  model.param('pos_embed.W_pos');
}

/**
 * The full grid (3 kinds, W = 10, N = 10) for a 10-token prompt on a GPT-2-small-shaped random model,
 * with a toy one-character-per-token tokenizer so the prompt is exactly 10 tokens; first (cold) and
 * warm grids. Cold = a process's or worker's first grid: it creates the block sessions (one per layer)
 * and the head, and its first runs grow each session's ORT memory arena. "prepared" is a
 * fresh model whose sessions prepareTraceSessions created beforehand (a worker's idle time).
 * Acceptance (issue 17): warm ≥ 15× ROME's 185 s; first grid ≤ 1.25× a warm grid.
 * LOCUS_BENCH_LAYERS=N runs N GPT-2-small blocks instead of 12 (peak memory grows with the layers).
 */
export async function benchTrace(threads: number): Promise<void> {
  const layers = Number(process.env.LOCUS_BENCH_LAYERS ?? 12);
  const prompt = 'abcdefghij';
  // The random model's argmax is outside the toy vocabulary: each grid traces a fixed answer (scored on its first token, as ROME).
  const request = (subject: string) => ({ prompt, subject, kinds: ['hidden', 'mlp', 'attn'] as TraceKind[], window: 10, samples: 10, target: 'b' });
  const what = `${layers} layers, 10 tokens, 3 kinds, W=10, N=10, ${threads} thread${threads > 1 ? 's' : ''}`;

  let model = fakeGpt2Small(threads, layers);
  touchWeights(model);
  const first = await timed(() => runCausalTrace(model, request('abc')));
  const warm = await timed(() => runCausalTrace(model, request('abc')));
  const warm2 = await timed(() => runCausalTrace(model, request('cde')));
  await model.dispose();

  model = fakeGpt2Small(threads, layers);
  touchWeights(model);
  const prepare = await timed(() => prepareTraceSessions(model));
  const prepared = await timed(() => runCausalTrace(model, request('abc')));
  await model.dispose();

  // glibc's transparent huge pages for malloc (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, read at process start) cut the
  // page faults of fresh ORT arenas and session weights: say which way this run went.
  const hugePages = /glibc\.malloc\.hugetlb=1/.test(process.env.GLIBC_TUNABLES ?? '') ? 'on' : 'off';
  console.log(`# trace grid, glibc.malloc.hugetlb ${hugePages}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const rome = (t: Timed): string => (layers === 12 ? ` — ${(ROME_SECONDS / t.wall).toFixed(1)}× ROME's ${ROME_SECONDS} s` : '');
  console.log(`trace grid first    (subject at 0, ${what}): ${fmt(first)}${rome(first)}`);
  console.log(`trace grid warm     (subject at 0): ${fmt(warm)}${rome(warm)}`);
  console.log(`trace grid warm     (subject at 2): ${fmt(warm2)}${rome(warm2)}`);
  console.log(`trace grid prepared (subject at 0, after prepareTraceSessions ${fmt(prepare)}): ${fmt(prepared)}`);
  console.log(`trace first / warm: ${(first.wall / warm.wall).toFixed(2)}× wall, ${(first.cpu / warm.cpu).toFixed(2)}× cpu; prepared / warm: ${(prepared.wall / warm.wall).toFixed(2)}× wall, ${(prepared.cpu / warm.cpu).toFixed(2)}× cpu (goal ≤ 1.25×)`);
  if (layers === 12) await benchTraceProcess(threads);
}

/**
 * `locus trace` as a process (issue 17: ≥ 15× ROME's code on this grid): a GPT-2-small-shaped folder
 * (bench/makeBigModel.ts, random weights, GPT-2's tokenizer), ROME's example prompt of 10 tokens with
 * the subject at position 0 ("The Space Needle" = tokens 0–3), the default grid (3 kinds, W = 10,
 * N = 10). Everything is timed: module load, model load, sessions, the grid, JSON output.
 */
async function benchTraceProcess(threads: number): Promise<void> {
  if (!fs.existsSync(CLI)) {
    console.log(`trace as a process: skipped, ${CLI} is missing (node esbuild.js cli)`);
    return;
  }
  const spec = gpt2SmallSpec();
  if (!fs.existsSync(`${spec.folder}/model.safetensors`)) writeBigModel(spec, GPT2_TOKENIZER_FROM);
  const args = ['trace', '--model', spec.folder, '--prompt', 'The Space Needle is located in the city of', '--subject', 'The Space Needle', '--threads', String(threads), '--json'];
  const r = await runCli(args);
  if (r.status !== 0) {
    console.log(`locus trace as a process: FAILED (exit ${r.status}): ${failureTail(r)}`);
    return;
  }
  const tokens = (JSON.parse(r.stdout) as { tokens: string[] }).tokens.length;
  console.log(`locus trace as a process (GPT-2-small shape, ${tokens} tokens, subject at 0, 3 kinds, W=10, N=10, ${threads} thread${threads > 1 ? 's' : ''}): ${describeRun(r)} — ${(ROME_SECONDS / r.wall).toFixed(1)}× ROME's ${ROME_SECONDS} s (goal ≥ 15×, ≤ ${(ROME_SECONDS / 15).toFixed(1)} s)`);
}
