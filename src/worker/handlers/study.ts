/**
 * `sweep/run`, `study/run`, `study/analyze` (issue 7): the layer sweep of one fact and the seed
 * paper's regression study, on the worker's loaded model.
 *
 * The applied edits are bit for bit as before afterwards, whatever happens (success, error, cancel),
 * and are never recomputed or replayed:
 * - a sweep edits the model as it is (kept edits included, like `edit/run`); each of its edits is
 *   measured on a stack nested on the kept edits and reverted to them (EditStack);
 * - a study runs on the file's weights (its manifest names the file's fingerprint): the kept values
 *   are set aside as they are and put back afterwards (ParamOverrides.onFileWeights).
 */
import * as path from 'node:path';
import type { CounterFactRecord, EditingProblem, EditMethod, FactCase, StudyManifest, StudyProgress, StudyRow, StudySpec } from '../../engine/index';
import { analyzeRows, defaultDatasetPath, EDIT_METHODS, EDITING_PROBLEMS, factCaseOf, LocusError, loadCounterFact, lockStudy, MAX_STUDY_SEED, parseCaseSpec, readManifest, readResults, readStudy, recordCost, recordEditCosts, recordStudyCosts, resolveStatsCacheDir, rowKey, runStudy, runSweep, selectCases, selectKnown, STUDY_LOCALIZATIONS, studyWork, sweepWork } from '../../engine/index';
import type { FactCaseDto, StudyAnalysisDto, SweepResultDto } from '../../protocol/dto';
import type { HandlerTable, WorkerState } from '../state';
import { inlineCase } from './cases';
import { optStatsDir } from './statsSettings';
import { check } from '../state';

export function methodsOf(v: unknown): EditMethod[] {
  if (!Array.isArray(v) || v.length === 0) throw new LocusError('bad-input', `methods must be a non-empty list of ${EDIT_METHODS.join(', ')}`);
  for (const m of v) if (!EDIT_METHODS.includes(m)) throw new LocusError('bad-input', `method "${m}" is not one of ${EDIT_METHODS.join(', ')}`);
  return [...new Set(v as EditMethod[])];
}

export function problemsOf(v: unknown): EditingProblem[] {
  if (v === undefined || v === null) return ['error-injection'];
  if (!Array.isArray(v) || v.length === 0) throw new LocusError('bad-input', `problems must be a non-empty list of ${EDITING_PROBLEMS.join(', ')}`);
  for (const p of v) if (!EDITING_PROBLEMS.includes(p)) throw new LocusError('bad-input', `problem "${p}" is not one of ${EDITING_PROBLEMS.join(', ')}`);
  return [...new Set(v as EditingProblem[])];
}

/** The layers asked for (default: every layer), each checked against the model. */
export function layersOf(v: unknown, nLayers: number): number[] {
  if (v === undefined || v === null) return Array.from({ length: nLayers }, (_, l) => l);
  if (!Array.isArray(v) || v.length === 0) throw new LocusError('bad-input', 'layers must be a non-empty list of layer numbers');
  const layers = v.map((l, k) => check.optInt(l, `layers[${k}]`, 0, nLayers - 1));
  if (layers.some((l) => l === undefined)) throw new LocusError('bad-input', 'layers must be a list of layer numbers (no nulls)');
  return [...new Set(layers as number[])];
}

/** "ETA 40 s", "ETA 12 min", "ETA 2.5 h"; empty before the first unit has been timed. */
export function etaText(secondsLeft: number): string {
  if (!Number.isFinite(secondsLeft) || secondsLeft < 0) return '';
  if (secondsLeft < 60) return `ETA ${Math.ceil(secondsLeft)} s`;
  if (secondsLeft < 2 * 3600) return `ETA ${Math.ceil(secondsLeft / 60)} min`;
  return `ETA ${(secondsLeft / 3600).toFixed(1)} h`;
}

/** The progress line of a study: "12/40 edits · 95 edits/h · ETA 3 min · case 5: rome error-injection layer 2". */
export function studyProgressMessage(p: StudyProgress): string {
  const rate = Number.isFinite(p.editsPerHour) ? `${p.editsPerHour < 100 ? p.editsPerHour.toFixed(1) : Math.round(p.editsPerHour)} edits/h` : '';
  return [`${p.done}/${p.total} edits`, rate, etaText(p.etaSeconds), p.stage].filter((s) => s !== '').join(' · ');
}

const sameList = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Why `wanted` is not the study already in `dir` (undefined when it is: the run resumes). */
function otherStudy(existing: StudySpec, wanted: StudySpec): string | undefined {
  const diffs: string[] = (['cases', 'methods', 'problems', 'layers'] as const).filter((k) => !sameList<unknown>(existing[k], wanted[k]));
  if (existing.seed !== wanted.seed) diffs.push('seed');
  if ((existing.localization ?? 'noise') !== (wanted.localization ?? 'noise')) diffs.push('localization');
  return diffs.length === 0 ? undefined : diffs.join(', ');
}

/** A sweep's fact: the inline `case`, or `caseId` of the loaded dataset (exactly one). */
export function sweepFact(state: WorkerState, p: { readonly case?: FactCaseDto; readonly caseId?: number }): FactCase {
  if ((p.case === undefined) === (p.caseId === undefined)) throw new LocusError('bad-input', 'give exactly one of case or caseId');
  if (p.case !== undefined) return inlineCase(p.case);
  const id = check.optInt(p.caseId, 'caseId', 0)!;
  const ds = state.dataset;
  if (!ds) throw new LocusError('bad-input', 'no dataset is loaded: load one first (dataset/load) or send case');
  const r = ds.records.find((x) => x.case_id === id);
  if (!r) throw new LocusError('not-found', `${ds.path} has no record with case_id ${id}`);
  return factCaseOf(r);
}

/** A study folder's dataset: the one its manifest names when it holds a study (it resumes), else the loaded one, else the bundled sample. */
export function studyDataset(state: WorkerState, dir: string): { readonly existing: StudyManifest | undefined; readonly dataset: string; readonly records: readonly CounterFactRecord[] } {
  const existing = readManifest(dir);
  const dataset = existing?.spec.dataset ?? state.dataset?.path ?? defaultDatasetPath();
  const records = state.dataset?.path === dataset ? state.dataset.records : loadCounterFact(dataset);
  return { existing, dataset, records };
}

export function studyHandlers(state: WorkerState): HandlerTable<'sweep/run' | 'study/run' | 'study/analyze'> {
  return {
    'sweep/run': async (p, ctx) => {
      const model = state.requireModel();
      const fact = sweepFact(state, p);
      const problem = problemsOf(p.problem === undefined ? undefined : [p.problem])[0];
      const methods = methodsOf(p.methods);
      const layers = layersOf(p.layers, model.config.n_layers);
      const planned = sweepWork(model, { prompt: fact.prompt, subject: fact.subject, methods, layers: layers.length });
      const result = await runSweep(
        model,
        {
          fact, methods, problem, layers,
          hparams: check.optObject(p.hparams, 'hparams'), cacheDir: resolveStatsCacheDir(check.optString(p.cacheDir, 'cacheDir')), statsDir: optStatsDir(p.statsDir),
        },
        { signal: ctx.signal, onProgress: (s) => ctx.progress({ done: s.done, total: s.total, message: s.stage }) },
      );
      // This machine's costs for the next estimate: each method's edits, and the trace (the time the edits did not take).
      const editSeconds = recordEditCosts(model, result.points);
      recordCost(model, 'study-trace-run', result.seconds - editSeconds, planned.trace.runs);
      const dto: SweepResultDto = {
        ...(p.caseId === undefined ? {} : { caseId: p.caseId }),
        subject: result.subject, problem: result.problem, tracingEffect: result.tracingEffect, points: result.points,
      };
      return dto;
    },

    'study/run': async (p, ctx) => {
      const model = state.requireModel();
      const t0 = Date.now();
      const dir = path.resolve(check.string(p.dir, 'dir'));
      const cases = parseCaseSpec(check.string(p.cases, 'cases'));
      const methods = methodsOf(p.methods);
      const problems = problemsOf(p.problems);
      const layers = layersOf(p.layers, model.config.n_layers);
      const seed = check.optInt(p.seed, 'seed', 0, MAX_STUDY_SEED) ?? 0;
      const localization = check.optList(p.localization === undefined || p.localization === null ? undefined : [p.localization], 'localization', STUDY_LOCALIZATIONS)?.[0];
      // The folder is checked (not a file, not in the model's folder, writable) and locked before anything
      // reads it or selects cases: a second study on it, from this window or another, is 'busy' at once.
      const lock = lockStudy(model, dir);
      try {
        // A folder that already holds a study resumes on that study's dataset; a new one uses the loaded dataset.
        const { existing, dataset, records } = studyDataset(state, dir);
        return await model.overrides.onFileWeights(async () => {
          ctx.progress({ message: cases.kind === 'known' ? `finding ${cases.n} facts the model knows` : 'selecting cases' });
          const selected = cases.kind === 'ids' ? selectCases(records, cases, dataset) : (await selectKnown(model, records, cases.n, { signal: ctx.signal })).records;
          if (selected.length === 0) throw new LocusError('bad-input', `cases "${p.cases}" selects no record of ${dataset}`);
          // Noise is the default and is left out of the spec, as the CLI does (older studies have no field).
          const spec: StudySpec = { cases: selected.map((r) => r.case_id), methods, problems, layers, dataset, seed, ...(localization === 'patching' ? { localization } : {}) };
          const differs = existing && otherStudy(existing.spec, spec);
          if (differs) throw new LocusError('bad-input', `${dir} holds another study (its ${differs} differ); choose another name, or resume it with its own settings`);
          const planned = studyWork(model, spec, selected, { outDir: dir });
          const before = new Set(readResults(dir).map(rowKey));
          const started = Date.now();
          const summary = await runStudy(model, spec, {
            outDir: dir, signal: ctx.signal, cacheDir: resolveStatsCacheDir(check.optString(p.cacheDir, 'cacheDir')), statsDir: optStatsDir(p.statsDir), lock,
            onProgress: (s) => ctx.progress({ done: s.done, total: s.total, message: studyProgressMessage(s) }),
          });
          if (!summary.cancelled) recordStudyCosts(model, planned, readResults(dir).filter((r) => !before.has(rowKey(r))), (Date.now() - started) / 1000);
          if (summary.cancelled) throw new LocusError('cancelled', `stopped after ${summary.resumed + summary.ran}/${summary.total} edits; run the study again to resume`);
          return { dir: summary.outDir, rows: readResults(dir).length, added: summary.ran, total: summary.total, seconds: (Date.now() - t0) / 1000 };
        });
      } finally {
        lock.release();
      }
    },

    'study/analyze': async (p) => {
      const study = readStudy(path.resolve(check.string(p.dir, 'dir')));
      const a = analyzeRows(study.rows);
      const dto: StudyAnalysisDto = { dir: study.dir, manifest: study.manifest, rows: a.rows, perLayer: a.perLayer, points: study.rows.map(toPoint) };
      return dto;
    },
  };
}

const toPoint = (r: StudyRow): StudyAnalysisDto['points'][number] => ({
  caseId: r.caseId, method: r.method, problem: r.problem, layer: r.layer, tracingEffect: r.tracingEffect, ...r.metrics,
});
