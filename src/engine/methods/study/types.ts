/**
 * The regression study of the seed paper (research/seed-paper.md §6): for every fact, edit method,
 * editing problem and central edit layer, one edit and the fact's MLP tracing effect at that layer.
 */
import type { ModelManifest } from '../../model/model';
import type { EditingProblem } from '../problems/problems';
import type { MetricProtocol } from '../problems/protocols';
import type { EditMethod } from '../registry/index';
import type { StudyLocalization } from '../patching/studyEffect';

export interface StudySpec {
  /** CounterFact case_ids, in run order (a shard takes index % n == i of this list). */
  readonly cases: readonly number[];
  readonly methods: readonly EditMethod[];
  /** Default: error-injection only. */
  readonly problems: readonly EditingProblem[];
  /** Central edit layers (ROME, FT-1: the layer; FT-5, MEMIT: the centre of the 5-layer window). */
  readonly layers: readonly number[];
  /** The CounterFact file (absolute path). */
  readonly dataset: string;
  /** Seed of the edit methods' sampling (ROME / MEMIT context templates). Tracing uses seed 1 as ROME. */
  readonly seed: number;
  /**
   * The localization variable (`--localization`): `noise` (default, absent in older studies) = Causal
   * Tracing's fractional MLP effect; `patching` = the MLP activation-patching effect from a same-relation
   * counterfactual (methods/patching/studyEffect.ts), stored in the same row fields.
   */
  readonly localization?: StudyLocalization;
}

export interface StudyShard {
  readonly i: number;
  readonly n: number;
}

/** `manifest.json` of a study folder (written atomically, once). */
export interface StudyManifest {
  readonly kind: 'locus-study';
  readonly format: 1;
  readonly engineVersion: string;
  readonly model: ModelManifest;
  readonly spec: StudySpec;
  readonly shard?: StudyShard;
  /** The localization variable the rows hold (spec.localization; `noise` when the spec has none). */
  readonly localization?: StudyLocalization;
  readonly started: string;
  /** Set by `mergeStudies`: the folders merged. */
  readonly mergedFrom?: readonly string[];
}

/** The paper's normalised scores (§4.2); null where a score is undefined (NaN). */
export interface StudyMetrics {
  readonly rewrite: number | null;
  readonly paraphrase: number | null;
  readonly neighborhood: number | null;
  readonly overall: number | null;
  /** Which protocol produced the numbers (problems/protocols.ts); rows written before the tag are hase-normalized. */
  readonly protocol?: MetricProtocol;
}

export const STUDY_METRICS = ['rewrite', 'paraphrase', 'neighborhood', 'overall'] as const;
export type StudyMetric = (typeof STUDY_METRICS)[number];

/** One line of `results.jsonl`. */
export interface StudyRow {
  readonly caseId: number;
  readonly method: EditMethod;
  readonly problem: EditingProblem;
  readonly layer: number;
  /** The layers the edit changed (FT-5 / MEMIT: the window around `layer`). */
  readonly editLayers: readonly number[];
  /** Fractional MLP tracing effect at `layer` (window 5, sequence score of target_true; §2.1), max over tokens. */
  readonly tracingEffect: number;
  /** The same at the last subject token, unclipped (the paper's Fig. 16 variant). */
  readonly tracingEffectLastSubject: number;
  readonly metrics: StudyMetrics;
  /** The same edit under every named protocol (CONTRACTS.md); absent in rows written before them. */
  readonly metricsByProtocol?: Partial<Record<MetricProtocol, StudyMetrics>>;
  readonly pre: { readonly targetNewLogprob: number; readonly targetTrueLogprob: number };
  readonly post: { readonly targetNewLogprob: number; readonly targetTrueLogprob: number };
  readonly seconds: number;
}

/** The identity of a row: resume skips it, merge de-duplicates on it. */
export const rowKey = (r: Pick<StudyRow, 'caseId' | 'method' | 'problem' | 'layer'>): string => `${r.caseId}|${r.method}|${r.problem}|${r.layer}`;

/** The cases a shard runs: those at index % n == i of the spec's list (deterministic, disjoint, covering). */
export function shardCases(cases: readonly number[], shard?: StudyShard): number[] {
  return shard ? cases.filter((_, k) => k % shard.n === shard.i) : [...cases];
}

export interface StudyProgress {
  /** Units (case × method × problem × layer) finished, resumed ones included. */
  readonly done: number;
  readonly total: number;
  /** Units found in results.jsonl at start. */
  readonly resumed: number;
  /** Seconds per unit run in this session, tracing included (NaN before the first). */
  readonly secondsPerUnit: number;
  /** Units run per hour of this session's wall-clock time (NaN before the first). */
  readonly editsPerHour: number;
  /** Seconds until the last unit at this session's rate (NaN before the first). */
  readonly etaSeconds: number;
  readonly stage: string;
}

/** A session's rate from `ran` units in `seconds` of wall-clock time, `left` units to go. */
export function studyRate(ran: number, left: number, seconds: number): Pick<StudyProgress, 'secondsPerUnit' | 'editsPerHour' | 'etaSeconds'> {
  if (ran === 0 || !(seconds > 0)) return { secondsPerUnit: NaN, editsPerHour: NaN, etaSeconds: NaN };
  const perUnit = seconds / ran;
  return { secondsPerUnit: perUnit, editsPerHour: 3600 / perUnit, etaSeconds: left * perUnit };
}

/** "12.5 edits/h, ETA 3 min" for progress lines; empty before the first unit. */
export function formatStudyRate(p: Pick<StudyProgress, 'editsPerHour' | 'etaSeconds'>): string {
  if (!Number.isFinite(p.editsPerHour)) return '';
  const eta = p.etaSeconds < 90 ? `${Math.ceil(p.etaSeconds)} s` : p.etaSeconds < 5400 ? `${Math.ceil(p.etaSeconds / 60)} min` : `${(p.etaSeconds / 3600).toFixed(1)} h`;
  return `${p.editsPerHour < 100 ? p.editsPerHour.toFixed(1) : Math.round(p.editsPerHour)} edits/h, ETA ${eta}`;
}
