/** Shaping an edit result (EditResultDto) for the metrics tables, the comparison and CSV (pure). */
import type { CaseOutcomeDto, EditResultDto, EditScoresDto, MetricProtocolDto } from '../../src/protocol/dto';
import { METRIC_PROTOCOL_NAMES } from '../../src/protocol/dto';
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

/** What each protocol measures, for labels and tooltips (README "Which metric?"). */
export const PROTOCOL_DESCRIPTIONS: Readonly<Record<MetricProtocolDto, string>> = {
  'hase-normalized': 'Hase et al.: probability gained (or kept) relative to what was missing before the edit',
  'rome-probability': 'ROME CounterFact: share of prompts where p(new) > p(true) (neighborhood: p(true) > p(new))',
  'token-accuracy': 'EasyEdit: share of target tokens that are the argmax given the gold prefix (neighborhood: argmax unchanged)',
  generation: 'greedy continuation contains the target (neighborhood: says it exactly when it did before)',
};

/** The protocols an edit result has scores under, in the fixed order; results saved before the protocols have the paper's only. */
export function availableProtocols(e: CaseOutcomeDto): MetricProtocolDto[] {
  const by = e.metricsByProtocol;
  return by ? METRIC_PROTOCOL_NAMES.filter((p) => by[p] !== undefined) : ['hase-normalized'];
}

/** The four scores under `protocol`; undefined when the result has none under it. `metrics` is the hase-normalized one (CONTRACTS.md). */
export function scoresUnder(e: CaseOutcomeDto, protocol: MetricProtocolDto): EditScoresDto | undefined {
  return protocol === 'hase-normalized' ? e.metrics : e.metricsByProtocol?.[protocol];
}

/** JSON null (a score that does not apply) is shown as '—' and compared as nothing. */
const num = (v: number | null | undefined): number => (typeof v === 'number' ? v : NaN);

/** The four scores under one protocol, each labelled with it (before = null: defined on the edit only). */
export function protocolScoreRows(e: CaseOutcomeDto, protocol: MetricProtocolDto): MetricRow[] {
  const m = scoresUnder(e, protocol);
  return m ? SCORE_NAMES.map((k): MetricRow => ({ key: k, label: `${k} · ${protocol}`, before: null, after: num(m[k]), kind: 'score' })) : [];
}

/**
 * The paper's four scores are normalised by the pre-edit probabilities, so they are defined on the edit
 * only (before = null); the log-probabilities of both targets exist before and after.
 */
export function editMetricRows(e: EditResultDto): MetricRow[] {
  return [
    ...SCORE_NAMES.map((k): MetricRow => ({ key: k, label: `${k} score (hase-normalized)`, before: null, after: e.metrics[k], kind: 'score' })),
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
export function compareRows(left: EditResultDto, right: EditResultDto, protocol: MetricProtocolDto = 'hase-normalized'): Array<{ key: string; label: string; left: number; right: number; diff: number }> {
  const pick = (e: EditResultDto): Array<[string, string, number]> => [
    // The scores under the chosen protocol (labelled with it), then the log-probs; the target differs
    // between edits, so the log-prob rows get generic labels here.
    ...protocolScoreRows(e, protocol).map((r): [string, string, number] => [r.key, r.label, r.after]),
    ...editMetricRows(e).filter((r) => r.kind === 'logprob').map((r): [string, string, number] => [r.key, r.key === 'logprob-new' ? 'log p(target_new) after' : `${r.label} after`, r.after]),
    ...romeMetricRows(e).map((r): [string, string, number] => [`rome-${r.key}`, r.label, r.after]),
    ['seconds', 'seconds', e.seconds],
  ];
  const l = pick(left);
  const r = new Map(pick(right).map(([k, , v]) => [k, v]));
  return l.filter(([k]) => r.has(k)).map(([key, label, v]) => ({ key, label, left: v, right: r.get(key)!, diff: r.get(key)! - v }));
}

/**
 * CSV of an edit: its metrics, then the predictions table (when the result has details). Score names
 * carry their protocol ("hase-normalized.rewrite", "token-accuracy.overall"): the paper's scores first,
 * then every other protocol the result has; ROME's own metrics keep ROME's names.
 */
export function editCsv(e: EditResultDto): CsvValue[][] {
  const rows: CsvValue[][] = [['section', 'name', 'before', 'after']];
  const scores = availableProtocols(e).flatMap((p) => protocolScoreRows(e, p).map((r) => ({ ...r, key: `${p}.${r.key}` })));
  for (const r of [...scores, ...editMetricRows(e).filter((x) => x.kind !== 'score'), ...romeMetricRows(e)]) rows.push(['metric', r.key, r.before, r.after]);
  for (const p of e.details?.predictions ?? []) {
    rows.push(['prediction', `${p.kind}: ${p.prompt} | top`, p.before.top, p.after.top]);
    rows.push(['prediction', `${p.kind}: ${p.prompt} | p(top)`, p.before.topProb, p.after.topProb]);
    rows.push(['prediction', `${p.kind}: ${p.prompt} | p(new)`, p.before.pNew, p.after.pNew]);
    rows.push(['prediction', `${p.kind}: ${p.prompt} | p(true)`, p.before.pTrue, p.after.pTrue]);
  }
  if (e.details) rows.push(['generation', e.details.generation.prompt, e.details.generation.before, e.details.generation.after]);
  return rows;
}
