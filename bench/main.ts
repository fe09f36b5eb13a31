/**
 * `npm run bench [-- forward] [-- --threads N]` (default: 1 and 2 intra-op threads): performance figures and ratios (never asserted in tests).
 * Targets: forward (segment-by-segment vs one fused graph), train (backward/forward ratio of a
 * GPT-2-small block; training tokens/s of the embedded model's shape), trace (the full causal-trace grid of a
 * 10-token prompt on GPT-2 small), edit (one ROME edit on GPT-2 small), scale (GPT-2 XL and GPT-J 6B
 * shaped folders from bench/makeBigModel.ts: `locus probe` and a trace row as processes, wall and peak RSS;
 * only when asked for by name), study (edits/hour of a 16-edit study on the embedded model; by name), sequential (N sequential edits per method, curves and a PNG plot; by name).
 */
import { benchAttribution } from './attribution';
import { benchForward } from './forward';
import { benchDevice } from './device';
import { benchEdit } from './edit';
import { benchFirstEdit } from './firstEdit';
import { benchQuality } from './editQuality';
import { benchScale } from './scale';
import { benchSequential } from './sequential';
import { benchStudy } from './study';
import { benchTrace } from './trace';
import { benchTrain } from './train';
import { benchWorkerTrace } from './workerTrace';
import { respawnWithMallocTunables, shouldRespawn, watchParent } from '../src/cli/respawn';

const targets: Record<string, (threads: number) => Promise<void>> = { forward: benchForward, train: benchTrain, trace: benchTrace, edit: benchEdit, quality: benchQuality, device: benchDevice, 'first-edit': benchFirstEdit, 'worker-trace': benchWorkerTrace, scale: benchScale, study: benchStudy, sequential: benchSequential, attribution: benchAttribution };

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ti = args.indexOf('--threads');
  const threadCounts = ti >= 0 ? [Number(args[ti + 1])] : [1, 2];
  // Flags with a value (--threads N; sequential's --edits N, --batch-size k, --measure-every m, --methods a,b, --run-dir DIR) are not target names.
  const valued = ['--threads', '--edits', '--batch-size', '--measure-every', '--methods', '--run-dir'];
  const names = args.filter((a, i) => !a.startsWith('--') && !valued.includes(args[i - 1]));
  // `quality` needs the embedded model and takes minutes, `device` a GPU, `scale` 18 GB of generated folders, `study` minutes: only when asked for by name.
  for (const n of names.length ? names : ['forward', 'train', 'trace', 'edit']) {
    const run = targets[n];
    if (!run) throw new Error(`unknown benchmark "${n}"; known: ${Object.keys(targets).join(', ')}`);
    for (const threads of threadCounts) await run(threads);
  }
}

// Measured as the product runs: with the malloc settings the CLI and the worker start with (protocol/mallocTuning.ts);
// the CLI processes a benchmark starts inherit them (no restart of their own, so their pid and peak RSS are the real ones).
if (shouldRespawn()) {
  respawnWithMallocTunables().then((code) => (process.exitCode = code));
} else {
  watchParent();
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
