/**
 * The cost preview (issue 19 item 5): the work counted exactly (work.ts) times a measured cost per
 * unit on this machine (store.ts). Where nothing has been measured yet for this model and thread
 * count, one short timed forward calibrates it, and the estimate says so.
 */
import { forward } from '../interp/forward';
import { forwardContext } from '../interp/probe';
import type { LoadedModel } from '../model/model';
import type { EditMethod } from '../methods/registry/index';
import type { CostUnit } from './store';
import { effectiveThreads, measuredCost, userCostFile } from './store';
import type { Work } from './work';

export type CostBasis = 'measured' | 'calibrated';

export interface CostEstimate {
  readonly work: Work;
  /** Estimated wall-clock seconds on this machine. */
  readonly seconds: number;
  /** `measured`: every unit's cost was recorded by earlier runs here; `calibrated`: at least one comes from the calibration forward. */
  readonly basis: CostBasis;
  /** Where the number comes from, for the user ("estimate from a 0.2 s calibration run"). */
  readonly note: string;
  /** The work in words ("3 kinds × 12 layers × 10 tokens = 360 cells × 10 samples = 3,600 runs"). */
  readonly text: string;
}

export interface EstimateOptions {
  /** The cost file (default: the user-level one, store.ts). */
  readonly file?: string;
  /** What the calibration forward runs (default: a short neutral sentence). */
  readonly calibrationPrompt?: string;
  readonly signal?: AbortSignal;
}

/**
 * A restored run costs about this many calibration rows: it runs only the blocks from the cell's start
 * and the positions from its token on, in batches that amortize each block's weights. Measured on the
 * embedded model (2 threads, load average ~13 on 2 cores, so rough): the default 3-kind, 10-sample grid
 * of "The Space Needle is located in the city of" ran 2,640 rows at 3.2 ms against 11.8 ms per
 * calibration row (0.27).
 */
const RUN_ROWS = 0.27;

/**
 * An edit, measured and reverted, costs about this many calibration rows (its optimisation steps and
 * its measurements before and after; statistics already cached). Measured as above, each method's
 * second edit of CounterFact case 0 at layer 1 (error-injection); `ft` assumed as `ft5`.
 */
const EDIT_ROWS: Readonly<Record<EditMethod, number>> = { ft: 420, ft5: 420, rome: 1230, rrome: 1400, memit: 480, emmet: 640, alphaedit: 970 };

const DEFAULT_CALIBRATION_PROMPT = 'The Eiffel Tower is located in the city of';

/** Rows in the timed calibration forward. */
const CALIBRATION_ROWS = 8;

/** Seconds per row of one batched forward of the prompt, after an untimed warm-up (the sessions' creation is not work). */
async function calibrate(model: LoadedModel, prompt: string, signal?: AbortSignal): Promise<{ perRow: number; seconds: number }> {
  const ctx = forwardContext(model);
  const ids = model.tokenizer.encode(prompt).ids.slice(0, model.config.n_ctx);
  await forward(ctx, [ids], { signal });
  const t0 = process.hrtime.bigint();
  await forward(ctx, Array.from({ length: CALIBRATION_ROWS }, () => ids), { signal });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { perRow: seconds / CALIBRATION_ROWS, seconds };
}

/** The units the work needs, with how many of each. */
function unitsOf(work: Work): Array<[CostUnit, number]> {
  const out: Array<[CostUnit, number]> = [];
  if (work.kind === 'trace') return [['restored-run', work.runs]];
  if (work.kind === 'sweep') {
    out.push(['study-trace-run', work.trace.runs]);
    for (const m of work.methods) out.push([`edit:${m}`, work.layers]);
    return out;
  }
  if (work.runs > 0) out.push([work.localization === 'patching' ? 'patching-run' : 'study-trace-run', work.runs]);
  for (const [m, n] of Object.entries(work.edits) as Array<[EditMethod, number]>) if (n > 0) out.push([`edit:${m}`, n]);
  return out;
}

const int = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`): string => `${int(n)} ${n === 1 ? one : many}`;

/** The work in words, as the confirmation shows it. */
export function workText(work: Work): string {
  if (work.kind === 'trace') {
    return `${plural(work.kinds.length, 'kind')} × ${plural(work.layers, 'layer')} × ${plural(work.tokens, 'token')} = ${plural(work.cells, 'cell')} × ${plural(work.samples, 'sample')} = ${plural(work.runs, 'run')}`;
  }
  if (work.kind === 'sweep') {
    return `${plural(work.methods.length, 'method')} × ${plural(work.layers, 'layer')} = ${plural(work.edits, 'edit')}, after one trace of ${plural(work.trace.cells, 'cell')} × ${plural(work.trace.samples, 'sample')} = ${plural(work.trace.runs, 'run')}`;
  }
  const left = work.units - work.done;
  const resumed = work.done > 0 ? ` (${int(work.done)} done: ${int(left)} to run)` : '';
  const loc = work.localization === 'patching' ? 'patching' : 'trace';
  return `${plural(work.cases, 'case')} × ${plural(work.methods.length, 'method')} × ${plural(work.problems, 'problem')} × ${plural(work.layers, 'layer')} = ${plural(work.units, 'edit')}${resumed}, and ${plural(work.traces, loc, `${loc}s`)} of ${plural(work.runs, 'run')} in all`;
}

/** "about 12 s", "about 3 min", "about 2.5 h". */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown time';
  if (seconds < 1) return 'under 1 s';
  if (seconds < 90) return `about ${Math.round(seconds)} s`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} min`;
  return `about ${(seconds / 3600).toFixed(1)} h`;
}

export async function estimateCost(model: LoadedModel, work: Work, opts: EstimateOptions = {}): Promise<CostEstimate> {
  const file = opts.file ?? userCostFile();
  let calibration: { perRow: number; seconds: number } | undefined;
  let seconds = 0;
  let calibrated = false;
  let runs = 0;
  for (const [unit, count] of unitsOf(work)) {
    // A localization not yet measured in a study is priced as a trace grid's run, when one was measured.
    const m = measuredCost(model, unit, file) ?? (unit === 'study-trace-run' || unit === 'patching-run' ? measuredCost(model, 'restored-run', file) : undefined);
    if (m) {
      seconds += m.seconds * count;
      runs = Math.max(runs, m.runs);
      continue;
    }
    calibration ??= await calibrate(model, opts.calibrationPrompt ?? DEFAULT_CALIBRATION_PROMPT, opts.signal);
    calibrated = true;
    const rows = !unit.startsWith('edit:') ? RUN_ROWS : EDIT_ROWS[unit.slice('edit:'.length) as EditMethod] ?? 300;
    seconds += calibration.perRow * rows * count;
  }
  const threads = effectiveThreads(model);
  const note = calibrated
    ? `estimate from a ${calibration!.seconds < 0.95 ? calibration!.seconds.toPrecision(2) : calibration!.seconds.toFixed(1)} s calibration run (nothing measured yet for ${model.manifest.name} with ${plural(threads, 'thread')} on this machine)`
    : `measured on this machine (${model.manifest.name}, ${plural(threads, 'thread')}${runs > 0 ? `, ${plural(runs, 'earlier run')}` : ''})`;
  return { work, seconds, basis: calibrated ? 'calibrated' : 'measured', note, text: workText(work) };
}
