/**
 * `sequential/run` (issue 18 item 4): a sequential editing run (engine methods/sequential) into a
 * folder, on the file's weights (the run's manifest names the file's fingerprint; the user's applied
 * edits are set aside as they are and put back afterwards, ParamOverrides.onFileWeights). A folder that
 * holds a run and no new spec resumes it with the manifest's settings. Progress done/total = edits.
 */
import * as path from 'node:path';
import type { EditingProblem, EditMethod, FactCase, SequentialSpec } from '../../engine/index';
import {
  batchCount, DEFAULT_HELD_OUT_TOKENS, defaultDatasetPath, EDIT_METHODS, EDITING_PROBLEMS, factCaseOf, LocusError, loadCounterFact, parseCaseSpec, parseEditRequests, readJsonFile,
  readSequentialManifest, resolveStatsCacheDir, runSequential, selectCases, selectKnown,
} from '../../engine/index';
import type { SequentialRunParams } from '../../protocol/panels/sequential';
import type { HandlerTable, WorkerState } from '../state';
import { check } from '../state';
import { etaText } from './study';
import { optStatsDir } from './statsSettings';

/** About 25 points on the curves by default: measuring all edits so far after every batch of a long run would cost more than the edits. */
const defaultMeasureEvery = (batches: number): number => Math.max(1, Math.round(batches / 25));

async function casesOf(state: WorkerState, p: SequentialRunParams, signal: AbortSignal): Promise<FactCase[]> {
  if ((p.requestsFile === undefined) === (p.cases === undefined)) throw new LocusError('bad-input', 'give exactly one of requestsFile or cases');
  if (p.requestsFile !== undefined) {
    const file = check.string(p.requestsFile, 'requestsFile');
    const raw = readJsonFile(file, 'requests file');
    if (!Array.isArray(raw)) throw new LocusError('bad-input', `${file} must hold a JSON list of requests for a sequential run`);
    return parseEditRequests(raw, file);
  }
  const spec = parseCaseSpec(check.string(p.cases, 'cases'));
  const dataset = state.dataset?.path ?? defaultDatasetPath();
  const records = state.dataset?.records ?? loadCounterFact(dataset);
  const selected = spec.kind === 'ids' ? selectCases(records, spec, dataset) : (await selectKnown(state.requireModel(), records, spec.n, { signal })).records;
  if (selected.length === 0) throw new LocusError('bad-input', `cases "${p.cases}" selects no record of ${dataset}`);
  return selected.map(factCaseOf);
}

export function sequentialHandlers(state: WorkerState): HandlerTable<'sequential/run'> {
  return {
    'sequential/run': async (p, ctx) => {
      const model = state.requireModel();
      const dir = path.resolve(check.string(p.dir, 'dir'));
      const existing = readSequentialManifest(dir);
      return model.overrides.onFileWeights(async () => {
        let spec: SequentialSpec;
        if (p.method === undefined && existing) spec = existing.spec;
        else {
          const method = check.string(p.method, 'method') as EditMethod;
          if (!EDIT_METHODS.includes(method)) throw new LocusError('bad-input', `method must be one of ${EDIT_METHODS.join(', ')}`);
          const problem = (p.problem ?? 'error-injection') as EditingProblem;
          if (!EDITING_PROBLEMS.includes(problem)) throw new LocusError('bad-input', `problem must be one of ${EDITING_PROBLEMS.join(', ')}`);
          ctx.progress({ message: 'reading the requests' });
          const cases = await casesOf(state, p, ctx.signal);
          const batchSize = check.optInt(p.batchSize, 'batchSize', 1) ?? 1;
          spec = {
            method, problem, batchSize, cases, seed: 0,
            measureEvery: check.optInt(p.measureEvery, 'measureEvery', 1) ?? defaultMeasureEvery(Math.ceil(cases.length / batchSize)),
            heldOutTokens: check.optInt(p.heldOutTokens, 'heldOutTokens', 2) ?? DEFAULT_HELD_OUT_TOKENS,
          };
        }
        const t0 = Date.now();
        const res = await runSequential(model, spec, {
          outDir: dir, signal: ctx.signal, cacheDir: resolveStatsCacheDir(check.optString(p.cacheDir, 'cacheDir')), statsDir: optStatsDir(p.statsDir),
          onProgress: (s) => ctx.progress({ done: s.edits, total: spec.cases.length, message: [`batch ${Math.min(s.batch + 1, s.batches)}/${s.batches}`, s.etaSeconds === undefined ? '' : etaText(s.etaSeconds), s.stage].filter((x) => x !== '').join(' · ') }),
        });
        const done = res.batches.reduce((n, b) => n + b.requests.length, 0);
        if (res.cancelled) throw new LocusError('cancelled', `stopped after ${done}/${spec.cases.length} edits (${res.batches.length}/${batchCount(spec)} batches); run it again to resume`);
        return { dir, requests: spec.cases.length, done, resumed: res.resumed, seconds: (Date.now() - t0) / 1000, points: res.curve };
      });
    },
  };
}
