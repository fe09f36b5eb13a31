/**
 * The work a trace grid, a layer sweep or a study will do, counted the way the engine runs it, so a
 * cost preview can say "360 cells × 10 samples = 3,600 runs" before anything starts (issue 19 item 5).
 *
 * - A trace grid (methods/causalTrace/trace.ts): one cell per kind × token × layer, tokens from the
 *   first subject token to the last prompt token (traceCells); each cell runs `samples` noised rows.
 * - A layer sweep (methods/study/sweep.ts): one study trace (STUDY_TRACE: MLP, window 5, 10 samples)
 *   and one edit per method × layer.
 * - A study (methods/study/run.ts): per case with something left to do, one localization (a noise
 *   trace as above, or MLP patching: one run per cell, methods/patching/run.ts), and one edit per
 *   method × problem × layer not already in the folder's results.jsonl.
 */
import { LocusError } from '../errors';
import type { CounterFactRecord } from '../data/counterfact';
import { fillPrompt } from '../data/counterfact';
import type { LoadedModel } from '../model/model';
import type { TraceKind } from '../methods/causalTrace/types';
import { STUDY_TRACE } from '../methods/study/sweep';
import { readResults } from '../methods/study/store';
import type { StudyShard, StudySpec } from '../methods/study/types';
import { rowKey, shardCases } from '../methods/study/types';
import type { EditMethod } from '../methods/registry/index';

/** Restored runs of a grid: one row each (a noised copy, or a patched prompt). */
export interface GridCount {
  /** Tokens from the first subject token to the last prompt token: the rows of the grid that run. */
  readonly tokens: number;
  readonly layers: number;
  readonly cells: number;
  /** Rows run: cells × samples (patching: one row per cell). */
  readonly runs: number;
}

export interface TraceWork extends GridCount {
  readonly kind: 'trace';
  readonly kinds: readonly TraceKind[];
  readonly samples: number;
}

export interface SweepWork {
  readonly kind: 'sweep';
  readonly methods: readonly EditMethod[];
  readonly layers: number;
  /** methods × layers, each measured before and after, then reverted. */
  readonly edits: number;
  /** The one study trace of the fact that precedes the edits. */
  readonly trace: GridCount & { readonly samples: number };
}

export interface StudyWork {
  readonly kind: 'study';
  readonly localization: 'noise' | 'patching';
  readonly cases: number;
  readonly methods: readonly EditMethod[];
  readonly problems: number;
  readonly layers: number;
  /** cases × methods × problems × layers (this shard's cases). */
  readonly units: number;
  /** Units already in results.jsonl (a resumed folder): not run again. */
  readonly done: number;
  /** Edits left to run, per method. */
  readonly edits: Readonly<Partial<Record<EditMethod, number>>>;
  /** Cases with at least one unit left: each is localized once. */
  readonly traces: number;
  /** Restored runs over those localizations. */
  readonly runs: number;
}

export type Work = TraceWork | SweepWork | StudyWork;

/** The grid of one prompt: tokens from the subject's first token on, × layers, × kinds. */
function gridCount(model: LoadedModel, prompt: string, subject: string, kinds: number, samples: number): GridCount {
  if (prompt.length === 0) throw new LocusError('bad-input', 'the prompt is empty');
  const enc = model.tokenizer.encode(prompt);
  const [b] = model.tokenizer.findSpan(enc, prompt, subject);
  const tokens = enc.ids.length - b;
  const layers = model.config.n_layers;
  const cells = kinds * tokens * layers;
  return { tokens, layers, cells, runs: cells * samples };
}

/** A trace grid's work (runCausalTrace's defaults: every kind, 10 samples). */
export function traceWork(model: LoadedModel, req: { readonly prompt: string; readonly subject: string; readonly kinds?: readonly TraceKind[]; readonly samples?: number }): TraceWork {
  const kinds = req.kinds ?? ['hidden', 'mlp', 'attn'];
  const samples = req.samples ?? 10;
  if (!Number.isInteger(samples) || samples < 1) throw new LocusError('bad-input', `samples must be a positive integer (got ${samples})`);
  return { kind: 'trace', kinds, samples, ...gridCount(model, req.prompt, req.subject, kinds.length, samples) };
}

/** A layer sweep's work: the study trace of the fact, then methods × layers edits. */
export function sweepWork(model: LoadedModel, req: { readonly prompt: string; readonly subject: string; readonly methods: readonly EditMethod[]; readonly layers: number }): SweepWork {
  const trace = { samples: STUDY_TRACE.samples, ...gridCount(model, req.prompt.replace('{}', () => req.subject), req.subject, STUDY_TRACE.kinds.length, STUDY_TRACE.samples) };
  return { kind: 'sweep', methods: [...req.methods], layers: req.layers, edits: req.methods.length * req.layers, trace };
}

/**
 * A study's work: `records` are the spec's cases (their prompts set each localization's grid); `outDir`,
 * when it holds results already, takes the units done off (as runStudy resumes).
 */
export function studyWork(model: LoadedModel, spec: Pick<StudySpec, 'cases' | 'methods' | 'problems' | 'layers' | 'localization'>, records: readonly CounterFactRecord[], opts: { readonly outDir?: string; readonly shard?: StudyShard } = {}): StudyWork {
  const once = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
  const methods = once(spec.methods);
  const problems = once(spec.problems);
  const layers = once(spec.layers);
  const localization = spec.localization ?? 'noise';
  const byId = new Map(records.map((r) => [r.case_id, r]));
  const cases = shardCases(once(spec.cases), opts.shard);
  const doneKeys = new Set(opts.outDir === undefined ? [] : readResults(opts.outDir).map(rowKey));
  const edits: Partial<Record<EditMethod, number>> = {};
  let done = 0;
  let traces = 0;
  let runs = 0;
  for (const caseId of cases) {
    let left = 0;
    for (const method of methods) {
      for (const problem of problems) {
        for (const layer of layers) {
          if (doneKeys.has(rowKey({ caseId, method, problem, layer }))) done++;
          else {
            left++;
            edits[method] = (edits[method] ?? 0) + 1;
          }
        }
      }
    }
    if (left === 0) continue;
    const r = byId.get(caseId);
    if (!r) throw new LocusError('not-found', `no record has case_id ${caseId}`);
    const samples = localization === 'patching' ? 1 : STUDY_TRACE.samples;
    traces++;
    runs += gridCount(model, fillPrompt(r), r.requested_rewrite.subject, 1, samples).runs;
  }
  return { kind: 'study', localization, cases: cases.length, methods, problems: problems.length, layers: layers.length, units: cases.length * methods.length * problems.length * layers.length, done, edits, traces, runs };
}
