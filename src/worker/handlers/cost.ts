/**
 * `cost/estimate` (issue 19 item 5): what a trace grid, layer sweep or study would cost, before it
 * starts; the panels ask it and confirm above a threshold (src/extension/panels/costGate.ts). Counted
 * by the engine (src/engine/cost) from the same fields the start request carries; a study's resumed
 * folder counts only what is left.
 */
import * as path from 'node:path';
import type { CostEstimate, TraceKind, Work } from '../../engine/index';
import { estimateCost, fillPrompt, formatSeconds, LocusError, parseCaseSpec, selectCases, STUDY_LOCALIZATIONS, studyWork, sweepWork, traceWork } from '../../engine/index';
import type { CostEstimateDto, CostEstimateParams } from '../../protocol/cost';
import type { HandlerTable, WorkerState } from '../state';
import { check } from '../state';
import { layersOf, methodsOf, problemsOf, studyDataset, sweepFact } from './study';

const KINDS: readonly TraceKind[] = ['hidden', 'mlp', 'attn'];

const toDto = (e: CostEstimate): CostEstimateDto => ({ work: e.work as unknown as CostEstimateDto['work'], seconds: e.seconds, duration: formatSeconds(e.seconds), basis: e.basis, note: e.note, text: e.text });

export function costHandlers(state: WorkerState): HandlerTable<'cost/estimate'> {
  return {
    'cost/estimate': async (p: CostEstimateParams, ctx) => {
      const model = state.requireModel();
      let work: Work;
      let calibrationPrompt: string | undefined;
      let note = '';
      if (p.what === 'trace') {
        const prompt = check.string(p.prompt, 'prompt');
        work = traceWork(model, { prompt, subject: check.string(p.subject, 'subject'), kinds: check.optList(p.kinds, 'kinds', KINDS), samples: check.optNumber(p.samples, 'samples') });
        calibrationPrompt = prompt;
      } else if (p.what === 'sweep') {
        const fact = sweepFact(state, p);
        work = sweepWork(model, { prompt: fact.prompt, subject: fact.subject, methods: methodsOf(p.methods), layers: layersOf(p.layers, model.config.n_layers).length });
        calibrationPrompt = fact.prompt.replace('{}', () => fact.subject);
      } else if (p.what === 'study') {
        const dir = path.resolve(check.string(p.dir, 'dir'));
        const cases = parseCaseSpec(check.string(p.cases, 'cases'));
        const localization = check.optList(p.localization === undefined || p.localization === null ? undefined : [p.localization], 'localization', STUDY_LOCALIZATIONS)?.[0];
        const { dataset, records } = studyDataset(state, dir);
        // known:N needs the model to find the facts it knows: the estimate counts the dataset's first N instead, and says so.
        const chosen = cases.kind === 'ids' ? selectCases(records, cases, dataset) : records.slice(0, cases.n);
        work = studyWork(model, { cases: chosen.map((r) => r.case_id), methods: methodsOf(p.methods), problems: problemsOf(p.problems), layers: layersOf(p.layers, model.config.n_layers), localization }, chosen, { outDir: dir });
        calibrationPrompt = chosen[0] && fillPrompt(chosen[0]);
        if (cases.kind === 'known') note = `; known:${cases.n} counted as the dataset's first ${cases.n} cases, without the search for known facts`;
      } else {
        throw new LocusError('bad-input', `what must be trace, sweep or study (got ${JSON.stringify((p as { what?: unknown }).what)})`);
      }
      const est = await estimateCost(model, work, { calibrationPrompt, signal: ctx.signal });
      return toDto({ ...est, note: est.note + note });
    },
  };
}
