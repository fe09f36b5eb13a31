/** Shaping an edit result (EditResultDto) for the metrics tables, the comparison and CSV (pure). */
import type { EditResultDto } from '../../src/protocol/dto';
import type { CsvValue } from './csv';

export type ScoreName = 'rewrite' | 'paraphrase' | 'neighborhood' | 'overall';
export const SCORE_NAMES: readonly ScoreName[] = ['rewrite', 'paraphrase', 'neighborhood', 'overall'];

/** One row of a metrics table; `before` is null where the number only exists for the edited model. */
export interface MetricRow {
  readonly key: string;
  readonly label: string;
  readonly before: number | null;
  readonly after: number;
  /** How to print: scores with 3 decimals, log-probabilities with 3, probabilities as they are. */
  readonly kind: 'score' | 'logprob' | 'rate';
}

/**
 * The paper's four scores are normalised by the pre-edit probabilities, so they are defined on the edit
 * only (before = null); the log-probabilities of both targets exist before and after.
 */
export function editMetricRows(e: EditResultDto): MetricRow[] {
  return [
    ...SCORE_NAMES.map((k): MetricRow => ({ key: k, label: `${k} score`, before: null, after: e.metrics[k], kind: 'score' })),
    { key: 'logprob-new', label: `log p(${e.target.trim() || 'target_new'})`, before: e.pre.targetNewLogprob, after: e.post.targetNewLogprob, kind: 'logprob' },
    { key: 'logprob-true', label: 'log p(target_true)', before: e.pre.targetTrueLogprob, after: e.post.targetTrueLogprob, kind: 'logprob' },
  ];
}

/** ROME's success metrics (counterfact's efficacy / paraphrase / neighborhood, as rates and magnitudes). */
export function romeMetricRows(e: EditResultDto): MetricRow[] {
  const r = e.romeMetrics;
  return [
    { key: 'efficacy', label: 'efficacy success', before: null, after: r.efficacy, kind: 'rate' },
    { key: 'paraphrase', label: 'paraphrase success', before: null, after: r.paraphrase, kind: 'rate' },
    { key: 'neighborhood', label: 'neighborhood success', before: null, after: r.neighborhood, kind: 'rate' },
    { key: 'efficacyMagnitude', label: 'efficacy magnitude', before: null, after: r.efficacyMagnitude, kind: 'rate' },
    { key: 'paraphraseMagnitude', label: 'paraphrase magnitude', before: null, after: r.paraphraseMagnitude, kind: 'rate' },
    { key: 'neighborhoodMagnitude', label: 'neighborhood magnitude', before: null, after: r.neighborhoodMagnitude, kind: 'rate' },
  ];
}

export const fixed3 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : (Math.abs(v) < 5e-4 ? 0 : v).toFixed(3));

/** A probability for a table: 3 significant digits, scientific below 0.001. */
export const prob = (v: number): string => (!Number.isFinite(v) ? '—' : v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toFixed(3));

/** Side-by-side rows for two edits: every number both results have, with right − left. */
export function compareRows(left: EditResultDto, right: EditResultDto): Array<{ key: string; label: string; left: number; right: number; diff: number }> {
  const pick = (e: EditResultDto): Array<[string, string, number]> => [
    // The target differs between edits, so the log-prob rows get generic labels here.
    ...editMetricRows(e).map((r): [string, string, number] => [r.key, r.key === 'logprob-new' ? 'log p(target_new) after' : r.kind === 'logprob' ? `${r.label} after` : r.label, r.after]),
    ...romeMetricRows(e).map((r): [string, string, number] => [`rome-${r.key}`, r.label, r.after]),
    ['seconds', 'seconds', e.seconds],
  ];
  const l = pick(left);
  const r = new Map(pick(right).map(([k, , v]) => [k, v]));
  return l.filter(([k]) => r.has(k)).map(([key, label, v]) => ({ key, label, left: v, right: r.get(key)!, diff: r.get(key)! - v }));
}

/** CSV of an edit: its metrics, then the predictions table (when the result has details). */
export function editCsv(e: EditResultDto): CsvValue[][] {
  const rows: CsvValue[][] = [['section', 'name', 'before', 'after']];
  for (const r of [...editMetricRows(e), ...romeMetricRows(e)]) rows.push(['metric', r.key, r.before, r.after]);
  for (const p of e.details?.predictions ?? []) {
    rows.push(['prediction', `${p.kind}: ${p.prompt} | top`, p.before.top, p.after.top]);
    rows.push(['prediction', `${p.kind}: ${p.prompt} | p(top)`, p.before.topProb, p.after.topProb]);
    rows.push(['prediction', `${p.kind}: ${p.prompt} | p(new)`, p.before.pNew, p.after.pNew]);
    rows.push(['prediction', `${p.kind}: ${p.prompt} | p(true)`, p.before.pTrue, p.after.pTrue]);
  }
  if (e.details) rows.push(['generation', e.details.generation.prompt, e.details.generation.before, e.details.generation.after]);
  return rows;
}
