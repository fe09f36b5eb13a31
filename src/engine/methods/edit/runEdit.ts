import * as path from 'node:path';
import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import type { ParamName } from '../../model/names';
import { assertFiniteEdit, DIVERGED, EditStack, frobenius } from './edits';
import type { Edit } from './edits';
import { probeCase, scoreCase } from './evaluateEdit';
import type { CaseProbe } from './evaluateEdit';
import type { EditScores, RomeSuccess } from '../problems/metrics';
import type { MetricsByProtocol } from '../problems/protocols';
import { buildProblem } from '../problems/problems';
import type { EditingProblem, FactCase, ProblemSpec } from '../problems/problems';
import { forcingMethods, listWords, methodSpec } from '../registry/index';
import type { EditMethod } from '../registry/index';
import type { LayeredHparams, SequenceState } from '../registry/spec';
import { methodTemplates } from '../registry/templates';
import { defaultStatsCorpusFor } from '../stats/modelCorpus';
import type { StatsCorpus } from '../stats/corpus';
import { loadOrComputeSecondMoment } from '../stats/statsCache';
import { assertFiniteDeep } from '../../files/finite';
import { checkDirTarget } from '../../files/writeTarget';
import { reused } from './editReuse';
import { assessSafety } from './safety';
import type { EditSafety } from './safety';
import type { EditReuse } from './editReuse';
import { mergeHparams } from './hparamValues';
import { checkContextTemplates, checkEditingNoise, checkFactCase, checkSeed } from './editInputs';

export { checkEditHparams, EDIT_METHODS } from '../registry/index';
export type { EditMethod } from '../registry/index';

export interface EditJob {
  readonly method: EditMethod;
  /** `--layer`: what it means is the method's (its registry spec's `editLayers`: the layer, or a window's centre). Default: the preset's. */
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
  /** Published key statistics (`--stats-dir`, stats/publishedStats.ts), used instead of computing C. */
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
  /** State a method keeps across the batches of one sequential run (registry/spec.ts SequenceState); default a fresh one. */
  readonly sequence?: SequenceState;
  /**
   * Read C (key statistics) on the file's weights, not the model as edited: a sequential run's batches
   * all use the unedited model's C, as the authors' sequential code computes it once (a covariance
   * cache, a null-space projection); without it every batch recomputes C at the layers after an edited one.
   */
  readonly secondMomentOnFileWeights?: boolean;
  /** Run the safety checks' canary perplexity (default true). A study turns it off: its rows store no safety, and the canary's forward passes with the edit applied cost more than the other checks together. */
  readonly canary?: boolean;
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
  /** Pre-flight safety checks of the edit (safety.ts; CONTRACTS.md `safety`). */
  readonly safety: EditSafety;
}

const outcome = (pre: CaseProbe, post: CaseProbe, scored: ReturnType<typeof scoreCase>, target: string): CaseOutcome => ({
  pre: { targetNewLogprob: pre.rewrite.target, targetTrueLogprob: pre.rewrite.truth },
  post: { targetNewLogprob: post.rewrite.target, targetTrueLogprob: post.rewrite.truth },
  metrics: scored.metrics,
  romeMetrics: scored.rome,
  metricsByProtocol: scored.byProtocol,
  target,
});

/** Everything about a job that needs no model: requests, templates, seed, noise. */
function checkJob(job: EditJob): void {
  methodSpec(job.method);
  if (!Array.isArray(job.cases) || job.cases.length === 0) throw new LocusError('bad-input', 'no request to edit');
  job.cases.forEach((c, i) => checkFactCase(c, `request ${i}`));
  if (job.contextTemplates !== undefined) checkContextTemplates(job.contextTemplates, 'context templates');
  if (job.seed !== undefined) checkSeed(job.seed);
  if (job.editingNoise !== undefined) checkEditingNoise(job.editingNoise);
}

/** The references' statistics sample count (mom2_n_samples) when a method's hparams have none. */
const DEFAULT_STATS_SAMPLES = 100000;

/** Every edited layer and the loss layer must be blocks of this model. */
function checkLayers(h: { layers: readonly number[]; v_loss_layer?: number }, L: number, source: string): void {
  const out = h.layers.find((l) => l >= L);
  if (out !== undefined) throw new LocusError('bad-config', `${source}: "layers" holds ${out}, outside this model's blocks 0..${L - 1}`);
  if (h.v_loss_layer !== undefined && h.v_loss_layer >= L) throw new LocusError('bad-config', `${source}: "v_loss_layer" ${h.v_loss_layer} is outside this model's blocks 0..${L - 1}`);
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
/** What an edit is before any optimisation: its method, each case's problem, the merged hparams and the context templates. */
export interface EditPlan {
  readonly method: ReturnType<typeof methodSpec>;
  readonly specs: readonly ProblemSpec[];
  /** Fact Forcing: the subject is noised (σ `noise`) on every forward pass while editing. */
  readonly forcing: boolean;
  readonly noise: number;
  readonly objective: 'nll' | 'erasure';
  /** The preset merged with the job's hparams and Fact Forcing's overrides, with the job's layers. */
  readonly h: LayeredHparams;
  readonly templates: Awaited<ReturnType<typeof methodTemplates>>;
  /** The plan's notes (preset source, layer choice, hparams), in runEdit's order. */
  readonly notes: readonly string[];
}

const caseKey = (job: EditJob, c: FactCase): string => `${JSON.stringify(c)}|${job.problem}|${job.editingNoise ?? 0.1}`;

/**
 * Everything runEdit decides before it measures or optimises (with job.reuse, shared as runEdit shares
 * it): a study plans its edits ahead to compute several facts' v* in lockstep (study/lockstep.ts).
 */
export async function planEdit(model: LoadedModel, job: EditJob): Promise<EditPlan> {
  checkJob(job);
  const method = methodSpec(job.method);
  const src = job.hparamsSource ?? 'hparams';
  const raw = job.hparams ?? {};
  const preset = method.preset(model.config);
  const merged = mergeHparams<LayeredHparams>(preset.hparams, raw, method.schema, src);
  // The statistics cache is checked before any work (a read-only working directory used to fail
  // after a minute of statistics): when it cannot be created or written, the edit stops here with
  // one line naming --cache, rather than computing and losing the statistics.
  if (method.usesKeyStatistics(merged.hparams)) {
    checkDirTarget(job.cacheDir, 'the statistics cache (--cache)', { modelDir: model.manifest.path });
  }
  const noise = job.editingNoise ?? 0.1;
  const specs: ProblemSpec[] = [];
  for (const c of job.cases) specs.push(await reused(job.reuse, `problem|${caseKey(job, c)}`, () => buildProblem(model, c, job.problem, noise)));
  const forcing = specs.some((s) => s.noisedSubject);
  if (forcing && !method.forcingOverrides) {
    throw new LocusError('bad-input', `fact-forcing is available with ${listWords(forcingMethods())} in this build, not yet with ${method.id}`);
  }
  const objective = specs[0].erase ? ('erasure' as const) : ('nll' as const);
  const chosen = method.editLayers({ layer: job.layer, raw, merged: merged.hparams, config: model.config });
  const notes = [`${method.hparamsName} defaults: ${preset.source}`, ...(chosen.notes ?? []), ...merged.notes];
  // Fact Forcing's overrides (the seed paper's), then the job's layers.
  const h: LayeredHparams = { ...merged.hparams, ...(forcing ? method.forcingOverrides!(raw) : {}), layers: chosen.layers };
  checkLayers(h, model.config.n_layers, src);
  const templates = await methodTemplates(model, method.templates, h, { given: job.contextTemplates, seed: job.seed ?? 0, reuse: job.reuse, signal: job.signal });
  return { method, specs, forcing, noise, objective, h, templates, notes };
}

/**
 * One edit end to end: build each case's problem, measure, compute the edit (as data), apply it,
 * measure again, and revert. The measurement's stack nests on whatever is applied (edits.ts), so the
 * model is bit for bit as before afterwards, the caller's applied edits included.
 */
export async function runEdit(model: LoadedModel, job: EditJob): Promise<EditOutcome> {
  const t0 = Date.now();
  const plan = await planEdit(model, job);
  const { method, specs, forcing, noise, objective, h, templates } = plan;
  job.onProgress?.('measuring before the edit');
  const pre: CaseProbe[] = [];
  for (let i = 0; i < job.cases.length; i++) pre.push(await reused(job.reuse, `pre|${caseKey(job, job.cases[i])}`, () => probeCase(model, job.cases[i], specs[i], job.signal)));
  // Before any optimisation: a model that already yields NaN (weights loaded with allowNonFinite) is not an edit that diverged.
  pre.forEach((p, i) => assertFiniteDeep(`the log-probs of request ${i} before the edit`, p, undefined, 'the model itself produces NaN or Inf; check its weights (loaded with --allow-nonfinite?)'));

  const notes: string[] = [];
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
      const load = (): ReturnType<typeof loadOrComputeSecondMoment> => loadOrComputeSecondMoment(model, [layer], corpus, { cacheDir: path.resolve(job.cacheDir), statsDir: job.statsDir, sampleSize, signal: job.signal, log });
      const m = await (job.secondMomentOnFileWeights ? model.overrides.onFileWeights(load) : load());
      return { mom2: m.get(layer)!.mom2, notes: notes.slice(from) };
    };
    const got = await (job.reuse ? job.reuse.getLarge(key, 8 * model.config.d_mlp ** 2, read) : read());
    for (const n of got.notes) if (!notes.includes(n)) notes.push(n);
    return got.mom2;
  };
  const requests = specs.map((s) => s.request);
  notes.push(...plan.notes);
  // The safety check below reads C at the layer a rank-one update just used: the last C read is kept
  // (one array, so a multi-layer method never holds more than its own loop does) instead of reading it twice.
  const readSecondMoment = stats(h.mom2_n_samples ?? DEFAULT_STATS_SAMPLES);
  let lastRead: { layer: number; mom2: Promise<Float64Array> } | undefined;
  const secondMoment = (layer: number): Promise<Float64Array> => {
    if (lastRead?.layer !== layer) lastRead = { layer, mom2: readSecondMoment(layer) };
    return lastRead.mom2;
  };
  const computed = await method.compute(model, requests, {
    hparams: h, templates: templates.list, templateGroups: templates.groups, secondMoment,
    signal: job.signal, onProgress: job.onProgress, objective, subjectNoise: forcing ? noise : undefined, seed: job.seed ?? 0, reuse: job.reuse, sequence: job.sequence ?? new Map(),
  });
  notes.push(...(computed.notes ?? []));
  const edit: Edit = computed.edit;

  assertFiniteEdit(edit);
  // Pre-flight safety (safety.ts): the computed edit and the keys its update used, before it is applied.
  const safety = await assessSafety(model, { edit, requests, keys: computed.keys, secondMoment, reuse: job.reuse, signal: job.signal, canary: job.canary });
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
    hparams: h,
    contextTemplates: templates.reported,
    notes,
    edit,
    safety,
  };
}
