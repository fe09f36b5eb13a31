import * as path from 'node:path';
import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import type { ParamName } from '../../model/names';
import { frobenius } from './edits';
import type { Edit } from './edits';
import { EditStack } from './edits';
import { probeCase, scoreCase } from './evaluateEdit';
import type { CaseProbe } from './evaluateEdit';
import type { EditScores, RomeSuccess } from '../problems/metrics';
import type { MetricsByProtocol } from '../problems/protocols';
import { buildProblem } from '../problems/problems';
import type { EditingProblem, FactCase, ProblemSpec } from '../problems/problems';
import { mergeRomeHparams, ROME_GPT2_XL } from '../rome/hparams';
import type { RomeHparams } from '../rome/hparams';
import { computeRome } from '../rome/index';
import { computeFineTune, FT_GPT2_XL, ftWindow, mergeFtHparams } from '../finetune/index';
import type { FtHparams } from '../finetune/index';
import { computeMemit } from '../memit/index';
import { asTemplateGroups } from '../memit/computeKs';
import { MEMIT_GPT2_XL, mergeMemitHparams } from '../memit/hparams';
import type { MemitHparams } from '../memit/hparams';
import { sampleContextTemplates, sampleMemitTemplates } from '../rome/templates';
import { defaultStatsCorpusFor } from '../stats/modelCorpus';
import type { StatsCorpus } from '../stats/corpus';
import { loadOrComputeSecondMoment } from '../stats/statsCache';
import { assertFiniteArray, assertFiniteDeep } from '../../files/finite';
import { checkDirTarget } from '../../files/writeTarget';
import { reused } from './editReuse';
import type { EditReuse } from './editReuse';
import { checkContextTemplates, checkEditingNoise, checkFactCase, checkSeed } from './editInputs';
import { ftPresetFor, memitPresetFor, romePresetFor } from './presets/choosePreset';

export type EditMethod = 'rome' | 'memit' | 'ft' | 'ft5';
export const EDIT_METHODS: readonly EditMethod[] = ['rome', 'memit', 'ft', 'ft5'];

/** MEMIT's preset for a model (presets/choosePreset.ts says which and from where). */
export function memitPreset(model: LoadedModel): MemitHparams {
  return memitPresetFor(model.config).hparams;
}

/** Constrained fine-tuning's preset for a model (presets/choosePreset.ts). */
export function ftPreset(model: LoadedModel): FtHparams {
  return ftPresetFor(model.config).hparams;
}

export interface EditJob {
  readonly method: EditMethod;
  /** Central layer (ROME, FT-1: the layer; FT-5, MEMIT: the window's centre). Default: the preset's. */
  readonly layer?: number;
  readonly cases: readonly FactCase[];
  readonly problem: EditingProblem;
  /** The reference implementation's own hparams JSON (snake_case); unknown keys become notes. */
  readonly hparams?: Record<string, unknown>;
  /** Names the hparams' source in errors and notes (e.g. "hparams file h.json"); default "hparams". */
  readonly hparamsSource?: string;
  readonly contextTemplates?: readonly string[];
  readonly statsCorpus?: StatsCorpus;
  /** Where second-moment statistics are cached. */
  readonly cacheDir: string;
  /** ROME/MEMIT published statistics (`--stats-dir`, stats/publishedStats.ts), used instead of computing C. */
  readonly statsDir?: string;
  readonly seed?: number;
  /** σ of the subject noise for Tracing Reversal's o_noise and Fact Forcing. */
  readonly editingNoise?: number;
  /** Score only the first paraphrase / neighborhood prompt (the released code's behaviour). */
  readonly firstOnly?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (stage: string) => void;
  /** Shares the problem, the pre-edit measurement and the sampled templates with other edits of the same unedited model (editReuse.ts). */
  readonly reuse?: EditReuse;
}

export interface CaseOutcome {
  readonly pre: { targetNewLogprob: number; targetTrueLogprob: number };
  readonly post: { targetNewLogprob: number; targetTrueLogprob: number };
  readonly metrics: EditScores;
  readonly romeMetrics: RomeSuccess;
  /** The same edit under every named protocol (problems/protocols.ts; CONTRACTS.md). */
  readonly metricsByProtocol: MetricsByProtocol;
  readonly target: string;
}

/** The `locus edit` result (CONTRACTS.md): the first request's numbers at top level, every request in `requests`. */
export interface EditOutcome extends CaseOutcome {
  readonly method: EditMethod;
  readonly layers: readonly number[];
  readonly problem: EditingProblem;
  readonly delta: { param: ParamName; frobenius: number };
  readonly deltas: Array<{ param: ParamName; frobenius: number }>;
  readonly seconds: number;
  readonly requests: CaseOutcome[];
  readonly hparams: unknown;
  readonly contextTemplates?: readonly string[];
  readonly notes: string[];
  readonly edit: Edit;
}

/** ROME's preset for a model: published hparams for its family and shape, scaled by depth, or the small-model default. */
export function romePreset(model: LoadedModel): RomeHparams {
  return romePresetFor(model.config).hparams;
}

const outcome = (pre: CaseProbe, post: CaseProbe, scored: ReturnType<typeof scoreCase>, target: string): CaseOutcome => ({
  pre: { targetNewLogprob: pre.rewrite.target, targetTrueLogprob: pre.rewrite.truth },
  post: { targetNewLogprob: post.rewrite.target, targetTrueLogprob: post.rewrite.truth },
  metrics: scored.metrics,
  romeMetrics: scored.rome,
  metricsByProtocol: scored.byProtocol,
  target,
});

/**
 * Checks a raw hparams object for `method` the way runEdit will merge it (types and ranges of every
 * known key), without a model: the CLI calls it before loading one, so a typo costs no load time.
 */
export function checkEditHparams(method: EditMethod, raw: Record<string, unknown>, source = 'hparams'): void {
  if (method === 'rome') mergeRomeHparams(ROME_GPT2_XL, raw, source);
  else if (method === 'memit') mergeMemitHparams(MEMIT_GPT2_XL, raw, source);
  else mergeFtHparams(FT_GPT2_XL, raw, source);
}

/** Everything about a job that needs no model: requests, templates, seed, noise. */
function checkJob(job: EditJob): void {
  if (!EDIT_METHODS.includes(job.method)) throw new LocusError('bad-input', `method must be one of ${EDIT_METHODS.join(', ')}`);
  if (!Array.isArray(job.cases) || job.cases.length === 0) throw new LocusError('bad-input', 'no request to edit');
  job.cases.forEach((c, i) => checkFactCase(c, `request ${i}`));
  if (job.contextTemplates !== undefined) checkContextTemplates(job.contextTemplates, 'context templates');
  if (job.seed !== undefined) checkSeed(job.seed);
  if (job.editingNoise !== undefined) checkEditingNoise(job.editingNoise);
}

/** Every edited layer and the loss layer must be blocks of this model. */
function checkLayers(h: { layers: readonly number[]; v_loss_layer?: number }, L: number, source: string): void {
  const out = h.layers.find((l) => l >= L);
  if (out !== undefined) throw new LocusError('bad-config', `${source}: "layers" holds ${out}, outside this model's blocks 0..${L - 1}`);
  if (h.v_loss_layer !== undefined && h.v_loss_layer >= L) throw new LocusError('bad-config', `${source}: "v_loss_layer" ${h.v_loss_layer} is outside this model's blocks 0..${L - 1}`);
}

const DIVERGED = 'the optimisation diverged; lower the learning rate (v_lr / lr) or the number of steps';

/** A ΔW with NaN or Inf is never applied, reported or exported. */
function assertFiniteEdit(edit: Edit): void {
  for (const d of edit.deltas) {
    if (d.kind === 'rank-one') {
      assertFiniteArray(`the edit's ΔW of ${d.param} (u)`, d.u, DIVERGED);
      assertFiniteArray(`the edit's ΔW of ${d.param} (v)`, d.v, DIVERGED);
    } else assertFiniteArray(`the edit's ΔW of ${d.param}`, d.delta, DIVERGED);
  }
}

/**
 * Scores and log-probs must be finite numbers (CONTRACTS.md). The log-probs (before and after, every
 * prompt) are checked strictly, first; the scores are functions of them, so with finite log-probs a
 * NaN score can only mean "not applicable": a request without paraphrase (or neighborhood) prompts has
 * no such score (printed '—', null in JSON), and a success score is 0/0 when p was already exactly 1.
 * NaN is allowed there and only there; Inf never.
 */
function assertFiniteOutcome(post: CaseProbe, o: CaseOutcome, where: string): void {
  assertFiniteDeep(`the log-probs of ${where} after the edit`, post, undefined, DIVERGED);
  assertFiniteDeep(`the edit's result for ${where}`, o, (p) => /^(metrics|romeMetrics|metricsByProtocol)\./.test(p), DIVERGED);
}

/**
 * One edit end to end: build each case's problem, measure, compute the edit (as data), apply it,
 * measure again, and revert. The measurement's stack nests on whatever is applied (edits.ts), so the
 * model is bit for bit as before afterwards, the caller's applied edits included.
 */
export async function runEdit(model: LoadedModel, job: EditJob): Promise<EditOutcome> {
  const t0 = Date.now();
  checkJob(job);
  const src = job.hparamsSource ?? 'hparams';
  const L = model.config.n_layers;
  // The statistics cache is checked before any work (a read-only working directory used to fail
  // after a minute of statistics): when it cannot be created or written, the edit stops here with
  // one line naming --cache, rather than computing and losing the statistics. FT reads no statistics.
  if (job.method === 'memit' || (job.method === 'rome' && mergeRomeHparams(romePreset(model), job.hparams ?? {}, src).hparams.mom2_adjustment)) {
    checkDirTarget(job.cacheDir, 'the statistics cache (--cache)', { modelDir: model.manifest.path });
  }
  const notes: string[] = [];
  const noise = job.editingNoise ?? 0.1;
  const specs: ProblemSpec[] = [];
  const caseKey = (c: FactCase): string => `${JSON.stringify(c)}|${job.problem}|${noise}`;
  for (const c of job.cases) specs.push(await reused(job.reuse, `problem|${caseKey(c)}`, () => buildProblem(model, c, job.problem, noise)));
  const forcing = specs.some((s) => s.noisedSubject);
  if (forcing && job.method === 'memit') {
    throw new LocusError('bad-input', 'fact-forcing is available with rome, ft and ft5 in this build, not yet with memit');
  }
  job.onProgress?.('measuring before the edit');
  const pre: CaseProbe[] = [];
  for (let i = 0; i < job.cases.length; i++) pre.push(await reused(job.reuse, `pre|${caseKey(job.cases[i])}`, () => probeCase(model, job.cases[i], specs[i], job.signal)));
  // Before any optimisation: a model that already yields NaN (weights loaded with allowNonFinite) is not an edit that diverged.
  pre.forEach((p, i) => assertFiniteDeep(`the log-probs of request ${i} before the edit`, p, undefined, 'the model itself produces NaN or Inf; check its weights (loaded with --allow-nonfinite?)'));

  let defaultCorpus: StatsCorpus | undefined;
  const corpus = (): StatsCorpus => {
    if (job.statsCorpus) return job.statsCorpus;
    if (!defaultCorpus) {
      defaultCorpus = defaultStatsCorpusFor(model.manifest.path);
      notes.push(`key statistics over ${defaultCorpus.name} (${defaultCorpus.texts.length} documents; a stats corpus file chooses another text)`);
    }
    return defaultCorpus;
  };
  const stats = (sampleSize: number) => async (layer: number): Promise<Float64Array> => {
    job.onProgress?.(`second-moment statistics for layer ${layer}`);
    // A cache write that fails late (disk full) is a warning: the statistics are correct in memory.
    // Notes say where C came from when it was not computed (published or shipped statistics).
    const log = (line: string): void => {
      const m = /^(warning|note): (.*)$/s.exec(line);
      if (m && !notes.includes(m[2])) notes.push(m[2]);
    };
    // Shared edits (a study) read C once per layer, with the notes its reading wrote (one array: its Cholesky factor is kept too, linalg.ts).
    const key = `mom2|${layer}|${sampleSize}|${path.resolve(job.cacheDir)}|${job.statsDir ?? ''}|${job.statsCorpus?.name ?? ''}`;
    const read = async (): Promise<{ mom2: Float64Array; notes: string[] }> => {
      const from = notes.length;
      const m = await loadOrComputeSecondMoment(model, [layer], corpus, { cacheDir: path.resolve(job.cacheDir), statsDir: job.statsDir, sampleSize, signal: job.signal, log });
      return { mom2: m.get(layer)!.mom2, notes: notes.slice(from) };
    };
    const got = await (job.reuse ? job.reuse.getLarge(key, 8 * model.config.d_mlp ** 2, read) : read());
    for (const n of got.notes) if (!notes.includes(n)) notes.push(n);
    return got.mom2;
  };
  const requests = specs.map((s) => s.request);
  const objective = specs[0].erase ? ('erasure' as const) : ('nll' as const);
  let edit: Edit;
  let hparams: unknown;
  let templates: readonly string[] | undefined;
  if (job.method === 'rome') {
    const preset = romePresetFor(model.config);
    notes.push(`ROME defaults: ${preset.source}`);
    const merged = mergeRomeHparams(preset.hparams, job.hparams ?? {}, src);
    notes.push(...merged.notes);
    // Fact Forcing: 25 v steps at v_lr 0.05 unless given (the seed paper's get_override_hparams).
    const forcingHp = forcing ? { ...(job.hparams?.['v_num_grad_steps'] === undefined ? { v_num_grad_steps: 25 } : {}), ...(job.hparams?.['v_lr'] === undefined ? { v_lr: 0.05 } : {}) } : {};
    const h = { ...merged.hparams, ...forcingHp, ...(job.layer === undefined ? {} : { layers: [job.layer] }) };
    checkLayers(h, L, src);
    hparams = h;
    templates = job.contextTemplates ?? (await reused(job.reuse, `rome-templates|${JSON.stringify(h.context_template_length_params)}|${job.seed ?? 0}`, () => sampleContextTemplates(model, h.context_template_length_params, job.seed ?? 0, job.signal)));
    const stack = new EditStack(model);
    const deltas = [];
    // ROME edits one request at a time; several requests are applied one after another.
    try {
      for (const r of requests) {
        const res = await computeRome(model, r, { hparams: h, contextTemplates: templates, secondMoment: stats(h.mom2_n_samples), signal: job.signal, onProgress: job.onProgress, objective, subjectNoise: forcing ? noise : undefined });
        assertFiniteEdit(res.edit);
        deltas.push(...res.edit.deltas);
        if (requests.length > 1) await stack.apply(res.edit);
      }
    } finally {
      await stack.revertAll();
    }
    edit = { method: 'rome', layers: h.layers, deltas };
  } else if (job.method === 'memit') {
    const preset = memitPresetFor(model.config);
    notes.push(`MEMIT defaults: ${preset.source}`);
    const merged = mergeMemitHparams(preset.hparams, job.hparams ?? {}, src);
    notes.push(...merged.notes);
    // No --layer: the preset's (or the hparams file's) own window; --layer: a 5-layer window centred there.
    const h = { ...merged.hparams, ...(job.layer === undefined ? {} : { layers: ftWindow(job.layer, 5, L) }) };
    checkLayers(h, L, src);
    hparams = h;
    const groups = job.contextTemplates ? asTemplateGroups(job.contextTemplates as never) : await reused(job.reuse, `memit-templates|${job.seed ?? 0}`, () => sampleMemitTemplates(model, job.seed ?? 0, job.signal));
    templates = groups.flat();
    const res = await computeMemit(model, requests, { hparams: h, contextTemplates: groups, secondMoment: stats(h.mom2_n_samples), signal: job.signal, onProgress: job.onProgress, objective });
    edit = res.edit;
  } else {
    const preset = ftPresetFor(model.config);
    const rome = romePresetFor(model.config);
    notes.push(`FT defaults: ${preset.source}`);
    if (job.layer === undefined && !job.hparams?.['layers']) notes.push(`FT layer window centred on ROME's preset layer ${rome.hparams.layers[0]}`);
    const merged = mergeFtHparams(preset.hparams, job.hparams ?? {}, src);
    notes.push(...merged.notes);
    const center = job.layer ?? rome.hparams.layers[0];
    const size = job.method === 'ft5' ? 5 : 1;
    // Fact Forcing trains 50 epochs on 10 noised copies (seed-paper.md §3.4) unless num_steps is given.
    const forcingSteps = forcing && job.hparams?.['num_steps'] === undefined ? { num_steps: 50 } : {};
    const h = { ...merged.hparams, ...forcingSteps, ...(job.layer === undefined && job.hparams?.['layers'] ? {} : { layers: ftWindow(center, size, L) }) };
    checkLayers(h, L, src);
    hparams = h;
    const subjectNoise = forcing ? { sigma: noise, copies: 10 } : undefined;
    const res = await computeFineTune(model, requests, { hparams: h, objective, subjectNoise, signal: job.signal });
    notes.push(...res.notes);
    edit = { ...res.edit, method: job.method };
  }

  assertFiniteEdit(edit);
  const stack = new EditStack(model);
  await stack.apply(edit);
  job.onProgress?.('measuring after the edit');
  const post: CaseProbe[] = [];
  let outcomes: CaseOutcome[];
  let deltas: Array<{ param: ParamName; frobenius: number }>;
  try {
    for (let i = 0; i < job.cases.length; i++) post.push(await probeCase(model, job.cases[i], specs[i], job.signal));
    outcomes = job.cases.map((_, i) => outcome(pre[i], post[i], scoreCase(pre[i], post[i], specs[i], job.firstOnly), specs[i].target));
    outcomes.forEach((o, i) => assertFiniteOutcome(post[i], o, `request ${i}`));
    deltas = edit.deltas.map((d) => ({ param: d.param, frobenius: frobenius(d) }));
    assertFiniteDeep("the edit's ΔW norms", deltas, undefined, DIVERGED);
  } finally {
    await stack.revertAll();
  }
  return {
    ...outcomes[0],
    method: job.method,
    layers: edit.layers,
    problem: job.problem,
    delta: deltas[0],
    deltas,
    seconds: (Date.now() - t0) / 1000,
    requests: outcomes,
    hparams,
    contextTemplates: templates,
    notes,
    edit,
  };
}
