import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultDatasetPath, loadModel, resolveStatsCacheDir, runStudy } from '../src/engine/index';
import type { EditMethod, StudySpec } from '../src/engine/index';

/**
 * Study throughput on the embedded model (issue 17 item 4): 4 known facts × ROME and FT-1 × central
 * layers 1 and 3 (16 edits, each traced fact, measured, edited, measured again and reverted), key
 * statistics cached. A warm-up study of one fact fills the statistics cache and opens the sessions
 * first. What makes it faster than the baseline: v* on each row's suffix only, the per-study reuse of
 * the problem, pre-edit measurement, templates and C, no safety canary in studies, one batched greedy
 * decode per probe, and the ROME edits' v* in lockstep (study/lockstep.ts). The results are the same to
 * float error (scores ≤ 1e-6 apart).
 */
const CASES = [20952, 3648, 819, 9012];
const METHODS: EditMethod[] = ['rome', 'ft'];
const LAYERS = [1, 3];
/**
 * This benchmark (this file copied into a worktree) on the code when issue 17 was filed (3a73b41~1),
 * 2026-12-08, 2 intra-op threads, quiet machine (load 1.5–1.8), interleaved with the new code: 56.1 s
 * wall (1026 edits/hour), and 52.9 s (1088) with the malloc settings the CLI and worker now start with.
 * The code before the study work (00e2f67~1) in the same minutes: 53.6–57.2 s. (An older figure, 455
 * edits/hour, was measured under load and overstated the ratio.)
 */
const BASELINE_EDITS_PER_HOUR = 1057;
/** The same runs' CPU seconds (user + system, every thread): 87.4 s for the 16 edits, 659 edits per CPU-hour. */
const BASELINE_EDITS_PER_CPU_HOUR = 659;
export async function benchStudy(threads: number): Promise<void> {
  const model = await loadModel('default', { threads });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'locus-bench-study-'));
  try {
    const dataset = defaultDatasetPath();
    const cacheDir = resolveStatsCacheDir(undefined);
    const spec = (cases: number[]): StudySpec => ({ cases, methods: METHODS, problems: ['error-injection'], layers: LAYERS, dataset, seed: 0 });
    await runStudy(model, spec(CASES.slice(0, 1)), { outDir: path.join(tmp, 'warm-up'), cacheDir });
    const load = os.loadavg()[0];
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const s = await runStudy(model, spec(CASES), { outDir: path.join(tmp, 'study'), cacheDir });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    // On a shared machine wall time depends on the load; CPU seconds (user + system of this process, all its threads) less so.
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const perHour = (s.ran / seconds) * 3600;
    console.log(`# study: intra-op threads ${threads}, load average ${load.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`);
    const perCpuHour = (s.ran / cpuSeconds) * 3600;
    console.log(`study CPU: ${cpuSeconds.toFixed(1)} s, ${perCpuHour.toFixed(0)} edits per CPU-hour — ${(perCpuHour / BASELINE_EDITS_PER_CPU_HOUR).toFixed(1)}× the ${BASELINE_EDITS_PER_CPU_HOUR} before (CPU seconds compare across loads better than wall)`);
    console.log(`study (embedded model, ${CASES.length} facts × ${METHODS.join(', ')} × layers ${LAYERS.join(', ')} = ${s.ran} edits, stats cached): ${seconds.toFixed(1)} s, ${perHour.toFixed(0)} edits/hour — ${(perHour / BASELINE_EDITS_PER_HOUR).toFixed(1)}× the ${BASELINE_EDITS_PER_HOUR} edits/hour before (goal ≥ 4×)`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await model.dispose();
  }
}
