/**
 * The layer sweep of one fact (seed paper §4, one row of its Fig. 6 scatter): trace the fact once with
 * the study's settings (STUDY_TRACE: MLP, window 5, p(whole target_true)), then for every method ×
 * central layer one edit, measured and reverted by runEdit. Model unchanged on return, bit for bit —
 * also on failure or cancellation — the caller's applied edits included (runEdit's stack nests on them).
 */
import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import { runCausalTrace } from '../causalTrace/trace';
import { runEdit } from '../edit/runEdit';
import { EditReuse } from '../edit/editReuse';
import type { EditMethod } from '../registry/index';
import type { EditingProblem, FactCase } from '../problems/problems';
import type { MetricProtocol, MetricsByProtocol, ProtocolScores } from '../problems/protocols';
import type { StudyMetrics } from './types';

/** Seed paper §2: window 5 for the regression, MLP only, 10 noised samples, sequence probability of target_true. */
export const STUDY_TRACE = { kinds: ['mlp'] as const, window: 5, samples: 10, score: 'sequence' as const };

/** A fact's per-layer MLP tracing effect as the study defines it (max over tokens; and at the last subject token). */
export interface StudyTracingEffect {
  readonly effect: number[];
  readonly effectLastSubject: number[];
  readonly seconds: number;
}

/** The fact's prompt with the subject in place of "{}" (a function, so "$&" in a subject stays literal). */
const filled = (fact: FactCase): string => fact.prompt.replace('{}', () => fact.subject);

/** One Causal Trace of the fact with the study's settings (research/seed-paper.md §2.1). */
export async function studyTracingEffect(model: LoadedModel, fact: FactCase, signal?: AbortSignal): Promise<StudyTracingEffect> {
  const t0 = Date.now();
  const trace = await runCausalTrace(model, { prompt: filled(fact), subject: fact.subject, target: fact.target_true.str, ...STUDY_TRACE }, { signal });
  return { effect: trace.tracingEffect.mlp!, effectLastSubject: trace.tracingEffectLastSubject.mlp!, seconds: (Date.now() - t0) / 1000 };
}

export const nullIfNaN = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** An edit's scores as a study stores them: NaN → null, with the protocol's tag. */
export const studyMetricsOf = (m: ProtocolScores): StudyMetrics => ({ rewrite: nullIfNaN(m.rewrite), paraphrase: nullIfNaN(m.paraphrase), neighborhood: nullIfNaN(m.neighborhood), overall: nullIfNaN(m.overall), protocol: m.protocol });

/** Every protocol's scores as a study stores them. */
export const studyMetricsByProtocol = (by: MetricsByProtocol): Record<MetricProtocol, StudyMetrics> =>
  Object.fromEntries(Object.entries(by).map(([k, m]) => [k, studyMetricsOf(m)])) as Record<MetricProtocol, StudyMetrics>;

export interface SweepRequest {
  readonly fact: FactCase;
  readonly methods: readonly EditMethod[];
  readonly problem: EditingProblem;
  /** Central edit layers (FT-5 / MEMIT: the centre of the 5-layer window). */
  readonly layers: readonly number[];
  /** The reference's hparams (snake_case), given to every method; keys a method does not know are ignored by it. */
  readonly hparams?: Record<string, unknown>;
  /** Second-moment statistics cache for ROME / MEMIT. */
  readonly cacheDir: string;
  /** ROME/MEMIT published statistics (`--stats-dir`), used instead of computing C where they have a layer. */
  readonly statsDir?: string;
  readonly seed?: number;
}

export interface SweepProgress {
  /** Edits finished (measured and reverted). */
  readonly done: number;
  readonly total: number;
  readonly stage: string;
}

export interface SweepOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SweepProgress) => void;
}

export interface SweepPoint {
  readonly method: EditMethod;
  readonly layer: number;
  readonly editLayers: readonly number[];
  readonly metrics: StudyMetrics;
  readonly metricsByProtocol?: Partial<Record<MetricProtocol, StudyMetrics>>;
  readonly seconds: number;
}

export interface SweepResult {
  readonly subject: string;
  readonly problem: EditingProblem;
  /** Per layer: the fractional MLP tracing effect (max over tokens), as in a study's rows. */
  readonly tracingEffect: number[];
  readonly tracingEffectLastSubject: number[];
  /** Methods in request order, layers in request order within each method. */
  readonly points: SweepPoint[];
  readonly seconds: number;
}

export async function runSweep(model: LoadedModel, req: SweepRequest, opts: SweepOptions = {}): Promise<SweepResult> {
  const t0 = Date.now();
  const L = model.config.n_layers;
  if (req.methods.length === 0 || req.layers.length === 0) throw new LocusError('bad-input', 'a sweep needs at least one method and one layer');
  const bad = req.layers.find((l) => !Number.isInteger(l) || l < 0 || l >= L);
  if (bad !== undefined) throw new LocusError('bad-input', `layer ${bad} is outside 0..${L - 1}`);
  const total = req.methods.length * req.layers.length;
  let done = 0;
  const report = (stage: string): void => opts.onProgress?.({ done, total, stage });

  // The model is the same at the start of every edit (runEdit reverts its own): share what precedes the edit.
  const reuse = new EditReuse();
  report('tracing');
  const trace = await studyTracingEffect(model, req.fact, opts.signal);
  const points: SweepPoint[] = [];
  for (const method of req.methods) {
    for (const layer of req.layers) {
      report(`${method} at layer ${layer}`);
      const out = await runEdit(model, { method, layer, cases: [req.fact], problem: req.problem, hparams: req.hparams, cacheDir: req.cacheDir, statsDir: req.statsDir, seed: req.seed, signal: opts.signal, reuse });
      points.push({
        method, layer, editLayers: [...out.layers], seconds: out.seconds,
        metrics: studyMetricsOf(out.metricsByProtocol['hase-normalized']),
        metricsByProtocol: studyMetricsByProtocol(out.metricsByProtocol),
      });
      done++;
      report(`${method} at layer ${layer} done`);
    }
  }
  return { subject: req.fact.subject, problem: req.problem, tracingEffect: trace.effect, tracingEffectLastSubject: trace.effectLastSubject, points, seconds: (Date.now() - t0) / 1000 };
}
