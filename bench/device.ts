import { forward } from '../src/engine/interp/forward';
import { forwardContext } from '../src/engine/interp/probe';
import { loadModel } from '../src/engine/model/model';
import type { LoadedModel } from '../src/engine/model/model';
import { runCausalTrace } from '../src/engine/methods/causalTrace/trace';
import { romePresetFor } from '../src/engine/methods/edit/presets/choosePreset';
import { computeRome } from '../src/engine/methods/rome/index';
import type { Device } from '../src/engine/runtime/ort';

/**
 * `npm run bench -- device` (issue 17 item 6; needs a GPU machine, never CI): probe, a trace grid and
 * one ROME edit on `LOCUS_BENCH_MODEL` (default the embedded model; the issue's figure is a
 * GPT-2-XL-shaped folder) with --device cpu, cuda and webgpu; prints each device's times and its
 * largest difference from the CPU's numbers, which must stay ≤ 1e-3 (relative to the CPU value's
 * scale). A device whose provider cannot start is reported and skipped.
 */
const PROMPT = '{} is located in the city of';
const SUBJECT = 'The Space Needle';
const TOL = 1e-3;

interface Figures {
  readonly logits: Float32Array;
  readonly grid: number[];
  readonly u: Float64Array;
  readonly v: Float64Array;
  readonly seconds: { load: number; probe: number; trace: number; rome: number };
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const r = await run();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

/** max |a − b| / max(1, max |a|): an absolute difference for values of order one, relative above. */
function scaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return d / scale;
}

async function figures(model: LoadedModel, load: number): Promise<Figures> {
  const filled = PROMPT.replace('{}', SUBJECT);
  const ids = model.tokenizer.encode(filled).ids;
  const [probe, probeS] = await timed(() => forward(forwardContext(model), [ids], { logits: 'last' }));
  const [trace, traceS] = await timed(() => runCausalTrace(model, { prompt: filled, subject: SUBJECT, kinds: ['hidden'], samples: 3, target: ' Seattle' }));
  const preset = romePresetFor(model.config).hparams;
  const hparams = { ...preset, mom2_adjustment: false };
  // ROME without C (mom2_adjustment off) so the bench needs no statistics; the value optimisation is the GPU's work.
  const request = { prompt: PROMPT, subject: SUBJECT, target_new: { str: ' Paris' } };
  const [rome, romeS] = await timed(() => computeRome(model, request, { hparams, contextTemplates: ['{}', 'The. {}', 'Therefore, the city. {}'] }));
  return {
    logits: probe.logits!.data,
    grid: trace.grids.hidden!.scores.flat(),
    u: rome.details[0].u,
    v: rome.details[0].v,
    seconds: { load, probe: probeS, trace: traceS, rome: romeS },
  };
}

export async function benchDevice(threads: number): Promise<void> {
  const spec = process.env.LOCUS_BENCH_MODEL ?? 'default';
  console.log(`# device: ${spec}, intra-op threads ${threads}`);
  let cpu: Figures | undefined;
  for (const device of ['cpu', 'cuda', 'webgpu'] as Device[]) {
    let model: LoadedModel;
    let load: number;
    try {
      [model, load] = await timed(() => loadModel(spec, { device, threads }));
    } catch (e) {
      console.log(`${device.padEnd(6)} skipped: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    try {
      const f = await figures(model, load);
      const s = f.seconds;
      const times = `load ${s.load.toFixed(2)} s, probe ${s.probe.toFixed(2)} s, hidden trace grid (3 samples) ${s.trace.toFixed(2)} s, ROME ${s.rome.toFixed(2)} s`;
      if (!cpu) {
        cpu = f;
        console.log(`${device.padEnd(6)} ${times}`);
        continue;
      }
      const diffs = { logits: scaledDiff(cpu.logits, f.logits), trace: scaledDiff(cpu.grid, f.grid), u: scaledDiff(cpu.u, f.u), v: scaledDiff(cpu.v, f.v) };
      const worst = Math.max(...Object.values(diffs));
      const ratio = (k: keyof Figures['seconds']): string => (cpu!.seconds[k] / s[k]).toFixed(1);
      console.log(`${device.padEnd(6)} ${times} (×${ratio('probe')} / ×${ratio('trace')} / ×${ratio('rome')} vs cpu); max scaled diff vs cpu ${Object.entries(diffs).map(([k, d]) => `${k} ${d.toExponential(1)}`).join(', ')} — ${worst <= TOL ? 'within' : 'OUTSIDE'} ${TOL}`);
    } finally {
      await model.dispose();
    }
  }
}
