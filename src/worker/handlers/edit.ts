/**
 * `edit/*`: compute-and-keep edits, revert one or all, list, export. The worker's one EditStack is
 * the truth about what is applied; every edit is computed on the model as it currently is (with the
 * earlier edits applied), so edits stack the way a user expects.
 */
import * as path from 'node:path';
import type { FactCase, LoadedModel, PromptView } from '../../engine/index';
import type { EditDetailsDto } from '../../protocol/dto';
import { corpusFromTextFile, EditStack, EDIT_METHODS, EDITING_PROBLEMS, exportModel, factCaseOf, generateText, LocusError, promptViews, resolveStatsCacheDir, runEdit } from '../../engine/index';
import type { EditParams } from '../../protocol/engine';
import type { HandlerTable, WorkerState } from '../state';
import { inlineCase } from './cases';
import { optStatsDir } from './statsSettings';
import { check } from '../state';

/** The job's requests: inline `cases`, or `caseIds` looked up in the loaded dataset. */
function casesOf(p: EditParams, state: WorkerState): FactCase[] {
  if ((p.cases === undefined) === (p.caseIds === undefined)) throw new LocusError('bad-input', 'give exactly one of cases or caseIds');
  if (p.cases !== undefined) {
    if (!Array.isArray(p.cases) || p.cases.length === 0) throw new LocusError('bad-input', 'cases must be a non-empty array');
    return p.cases.map(inlineCase);
  }
  const ids: unknown = p.caseIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => Number.isSafeInteger(id))) {
    throw new LocusError('bad-input', `caseIds must be a non-empty list of case_id numbers (got ${JSON.stringify(ids).slice(0, 60)})`);
  }
  const ds = state.dataset;
  if (!ds) throw new LocusError('bad-input', 'no dataset is loaded: load one first (dataset/load) or send cases');
  return (ids as number[]).map((id) => {
    const r = ds.records.find((x) => x.case_id === id);
    if (!r) throw new LocusError('bad-input', `${ds.path} has no record with case_id ${id}`);
    return factCaseOf(r);
  });
}

/** The same prompts and the same generation seed, measured once before and once after the edit. */
const DETAILS_GENERATION = { maxNewTokens: 20, topK: 5, seed: 0 } as const;

async function detailsSnapshot(model: LoadedModel, c: FactCase, signal: AbortSignal): Promise<{ views: PromptView[]; generation: string }> {
  const views = await promptViews(model, c, signal);
  const generation = await generateText(model, views[0].prompt, { ...DETAILS_GENERATION, signal });
  return { views, generation: generation.text };
}

function pairDetails(before: { views: PromptView[]; generation: string }, after: { views: PromptView[]; generation: string }): EditDetailsDto {
  const view = (v: PromptView) => ({ top: v.top, topProb: v.topProb, pNew: v.pNew, pTrue: v.pTrue });
  return {
    predictions: before.views.map((b, i) => ({ kind: b.kind, prompt: b.prompt, before: view(b), after: view(after.views[i]) })),
    generation: { prompt: before.views[0].prompt, before: before.generation, after: after.generation },
  };
}

export function editHandlers(state: WorkerState): HandlerTable<'edit/run' | 'edit/revert' | 'edit/revertAll' | 'edit/list' | 'edit/export'> {
  return {
    'edit/run': async (p, ctx) => {
      const model = state.requireModel();
      if (!EDIT_METHODS.includes(p.method)) throw new LocusError('bad-input', `method must be one of ${EDIT_METHODS.join(', ')}`);
      const problem = p.problem ?? 'error-injection';
      if (!EDITING_PROBLEMS.includes(problem)) throw new LocusError('bad-input', `problem must be one of ${EDITING_PROBLEMS.join(', ')}`);
      const layer = check.optInt(p.layer, 'layer', 0, model.config.n_layers - 1);
      const cases = casesOf(p, state);
      const stack = state.stack();
      const before = check.optBool(p.details, 'details') ? await detailsSnapshot(model, cases[0], ctx.signal) : undefined;
      // runEdit's measurement nests on the applied edits and leaves them bit for bit (EditStack).
      const result = await runEdit(model, {
        method: p.method,
        layer,
        cases,
        problem,
        hparams: check.optObject(p.hparams, 'hparams'),
        contextTemplates: p.contextTemplates as readonly string[] | undefined,
        statsCorpus: p.statsCorpus === undefined || p.statsCorpus === null ? undefined : corpusFromTextFile(check.string(p.statsCorpus, 'statsCorpus')),
        cacheDir: resolveStatsCacheDir(check.optString(p.cacheDir, 'cacheDir')),
        statsDir: optStatsDir(p.statsDir),
        // Types here; the engine checks the ranges (seed ≤ 2³²−1, noise ≤ its maximum) with the CLI's messages.
        seed: check.optNumber(p.seed, 'seed') ?? 0,
        editingNoise: check.optNumber(p.editingNoise, 'editingNoise'),
        firstOnly: check.optBool(p.firstOnly, 'firstOnly'),
        signal: ctx.signal,
        onProgress: (message) => ctx.progress({ message }),
      });
      // Pre-flight safety (engine methods/edit/safety.ts): a flagged edit is answered with its checks and what
      // it would do (details measured on a nested stack, then reverted), but applied only when the request says `force`.
      const apply = !result.safety.flagged || check.optBool(p.force, 'force') === true;
      const target = apply ? stack : new EditStack(model);
      await target.apply(result.edit);
      let details;
      try {
        details = before ? pairDetails(before, await detailsSnapshot(model, cases[0], ctx.signal)) : undefined;
      } finally {
        if (!apply) await target.revertAll();
      }
      const id = apply ? state.newEditId() : '';
      const deltas = result.deltas.map((d) => ({ param: d.param, frobenius: d.frobenius }));
      const dto = { id, method: p.method, layers: [...result.layers], problem, subjects: cases.map((c) => c.subject), targets: result.requests.map((r) => r.target), deltas };
      if (apply) state.applied.set(id, { edit: result.edit, dto });
      return {
        id,
        method: result.method,
        layers: [...result.layers],
        problem: result.problem,
        pre: result.pre,
        post: result.post,
        metrics: result.metrics,
        romeMetrics: result.romeMetrics,
        metricsByProtocol: result.metricsByProtocol,
        target: result.target,
        deltas,
        seconds: result.seconds,
        requests: result.requests,
        hparams: result.hparams,
        contextTemplates: result.contextTemplates,
        notes: result.notes,
        stack: state.stackDto(),
        details,
        safety: result.safety,
        applied: apply,
      };
    },
    'edit/revert': async (p) => {
      const id = check.string(p.id, 'id');
      const entry = state.applied.get(id);
      if (!entry) throw new LocusError('not-found', `no applied edit has id ${JSON.stringify(id)}`);
      await state.stack().revert(entry.edit);
      state.applied.delete(id);
      return state.stackDto();
    },
    'edit/revertAll': async () => {
      await state.stack().revertAll();
      state.applied.clear();
      return state.stackDto();
    },
    'edit/list': async () => state.stackDto(),
    'edit/export': async (p, ctx) => {
      const model = state.requireModel();
      const dir = path.resolve(check.string(p.dir, 'dir'));
      const edits = state.stackDto().edits;
      ctx.progress({ message: `writing ${dir}` });
      exportModel(model, dir, { locus_edits: JSON.stringify(edits) });
      return { dir, edits: edits.map((e) => e.id) };
    },
  };
}
