/** Pure shaping of a sequential run's points for the charts, the table and CSV (no DOM). */
import type { SequentialPointView, SequentialSummary } from '../../src/protocol/panels/sequential';
import type { CsvValue } from '../shared/csv';

const num = (x: number | null | undefined): number | null => (x === null || x === undefined || Number.isNaN(x) ? null : x);

export interface CurveData {
  readonly edits: number[];
  readonly rewrite: Array<number | null>;
  readonly paraphrase: Array<number | null>;
  readonly neighborhood: Array<number | null>;
  readonly perplexity: Array<number | null>;
  /** Per edited parameter, ‖W‖_F / ‖W₀‖_F at each point (1 before the parameter was first edited). */
  readonly growth: ReadonlyArray<{ readonly param: string; readonly values: Array<number | null> }>;
}

export function curveData(points: readonly SequentialPointView[]): CurveData {
  const params = [...new Set(points.flatMap((p) => p.weightNorms.map((w) => w.param)))];
  return {
    edits: points.map((p) => p.edits),
    rewrite: points.map((p) => num(p.scores?.rewrite)),
    paraphrase: points.map((p) => num(p.scores?.paraphrase)),
    neighborhood: points.map((p) => num(p.scores?.neighborhood)),
    perplexity: points.map((p) => num(p.perplexity)),
    growth: params.map((param) => ({ param, values: points.map((p) => num(p.weightNorms.find((w) => w.param === param)?.growth ?? 1)) })),
  };
}

export const CSV_HEADER = ['edits', 'batches', 'rewrite', 'paraphrase', 'neighborhood', 'overall', 'efficacy_success', 'paraphrase_success', 'neighborhood_success', 'perplexity', 'max_weight_growth'];

export const maxGrowth = (p: SequentialPointView): number => p.weightNorms.reduce((m, w) => Math.max(m, w.growth), 1);

export function pointsCsv(points: readonly SequentialPointView[]): CsvValue[][] {
  return [CSV_HEADER, ...points.map((p) => [
    p.edits, p.batches, num(p.scores?.rewrite), num(p.scores?.paraphrase), num(p.scores?.neighborhood), num(p.scores?.overall),
    num(p.scores?.efficacySuccess), num(p.scores?.paraphraseSuccess), num(p.scores?.neighborhoodSuccess), num(p.perplexity), maxGrowth(p),
  ])];
}

export const summaryLine = (s: SequentialSummary): string =>
  `${s.method} on ${s.model} — ${s.problem}, batches of ${s.batchSize}: ${s.done}/${s.requests} edits applied`;

export const fmt = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));
