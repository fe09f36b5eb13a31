/**
 * The Study panel's data shaping (pure: no DOM, so test/webview checks it in Node): the R² table's
 * cells and CSV, the per-layer mean curves with their 95% bands, the tracing-effect band over the
 * study's facts, the scatter's points per layer, and the CSV of every table.
 */
import type { LayerMeansView, R2RowView, StudyMetricName, StudyPointColumns, StudySummary } from '../../src/protocol/panels/study';
import { STUDY_METRIC_NAMES } from '../../src/protocol/panels/study';
import { rampColour } from '../shared/colour';
import type { CsvValue } from '../shared/csv';

export const METRIC_LABELS: Readonly<Record<StudyMetricName, string>> = {
  rewrite: 'Rewrite score', paraphrase: 'Paraphrase score', neighborhood: 'Neighborhood score', overall: 'Overall score',
};

export type R2Column = 'r2Layer' | 'r2LayerTracing' | 'r2Gain' | 'r2Tracing' | 'pValue';

/** The R² table's numeric columns: the seed paper's Tables 3–6 (layer, layer + tracing, their difference, tracing alone, p of the F-test). */
export const R2_COLUMNS: ReadonlyArray<{ readonly key: R2Column; readonly label: string; readonly title: string }> = [
  { key: 'r2Layer', label: 'R² layer', title: 'R² of the score on the edit layer (a categorical variable)' },
  { key: 'r2LayerTracing', label: 'R² layer + tracing', title: 'R² on layer + layer × tracing effect' },
  { key: 'r2Gain', label: 'gain', title: 'What the tracing effect adds beyond the layer (the paper\'s "Diff")' },
  { key: 'r2Tracing', label: 'R² tracing only', title: 'R² on the tracing effect alone' },
  { key: 'pValue', label: 'p', title: 'p-value of the F-test layer + tracing vs. layer' },
];

/** Three decimals, "—" where undefined (NaN). */
export const fmtR2 = (v: number): string => (Number.isFinite(v) ? (Math.abs(v) < 5e-4 ? 0 : v).toFixed(3) : '—');

/** A p-value as the paper prints them: "<1e-4" for tiny ones. */
export function fmtP(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v < 1e-4) return '<1e-4';
  return v < 0.001 ? v.toExponential(1) : v.toFixed(3);
}

export const fmtCell = (key: R2Column, v: number): string => (key === 'pValue' ? fmtP(v) : fmtR2(v));

/**
 * The study's scores are the seed paper's (`metrics` of each row, protocol hase-normalized; README
 * "Which metric?"): CSV names and a column say so.
 */
const STUDY_PROTOCOL = 'hase-normalized';
const withProtocol = (metric: string): string => `${metric}_${STUDY_PROTOCOL.replace(/-/g, '_')}`;

export function r2Csv(rows: readonly R2RowView[]): CsvValue[][] {
  return [
    ['method', 'problem', 'metric', 'protocol', 'n', 'r2_layer', 'r2_layer_tracing', 'r2_gain', 'r2_tracing', 'p_value'],
    ...rows.map((r) => [r.method, r.problem, r.metric, STUDY_PROTOCOL, r.n, r.r2Layer, r.r2LayerTracing, r.r2Gain, r.r2Tracing, r.pValue]),
  ];
}

export function perLayerCsv(perLayer: readonly LayerMeansView[]): CsvValue[][] {
  const keys = ['tracingEffect', ...STUDY_METRIC_NAMES] as const;
  const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return [
    ['method', 'problem', 'layer', 'n', ...keys.map((k) => (k === 'tracingEffect' ? snake(k) : withProtocol(k))).flatMap((k) => [`${k}_mean`, `${k}_lo`, `${k}_hi`])],
    ...perLayer.map((p) => [p.method, p.problem, p.layer, p.n, ...keys.flatMap((k) => [p[k].mean, p[k].lo, p[k].hi])]),
  ];
}

/** float32 → the 7 digits it holds (0.3, not 0.30000001192092896). */
const f32 = (v: number): number => (Number.isFinite(v) ? Number(v.toPrecision(7)) : NaN);

export function pointsCsv(p: StudyPointColumns): CsvValue[][] {
  const out: CsvValue[][] = [['case_id', 'method', 'problem', 'layer', 'tracing_effect', ...STUDY_METRIC_NAMES.map(withProtocol)]];
  for (let i = 0; i < p.count; i++) {
    out.push([p.caseId[i], p.methods[p.method[i]], p.problems[p.problem[i]], p.layer[i], f32(p.tracingEffect[i]), ...STUDY_METRIC_NAMES.map((m) => f32(p[m][i]))]);
  }
  return out;
}

/** Methods and problems in the order the study has them. */
export function groupsOf(rows: ReadonlyArray<{ readonly method: string; readonly problem: string }>): { methods: string[]; problems: string[] } {
  return { methods: [...new Set(rows.map((r) => r.method))], problems: [...new Set(rows.map((r) => r.problem))] };
}

/** A line with its 95% band; null where there is no value (Chart.js leaves a gap). */
export interface BandSeries {
  readonly label: string;
  readonly mean: Array<number | null>;
  readonly lo: Array<number | null>;
  readonly hi: Array<number | null>;
}

const orNull = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);

/** Per-layer means of `metric` for every method of `problem`, on the union of their layers. */
export function metricCurves(perLayer: readonly LayerMeansView[], problem: string, metric: StudyMetricName): { layers: number[]; series: BandSeries[] } {
  const rows = perLayer.filter((p) => p.problem === problem);
  const layers = [...new Set(rows.map((p) => p.layer))].sort((a, b) => a - b);
  const series = groupsOf(rows).methods.map((method) => {
    const at = new Map(rows.filter((p) => p.method === method).map((p) => [p.layer, p[metric]]));
    return { label: method, mean: layers.map((l) => orNull(at.get(l)?.mean)), lo: layers.map((l) => orNull(at.get(l)?.lo)), hi: layers.map((l) => orNull(at.get(l)?.hi)) };
  });
  return { layers, series };
}

/** Mean and 95% interval mean ± 1.96 · s/√n (as the engine's meanCI); NaN bounds for fewer than two values. */
export function meanBand(xs: readonly number[]): { mean: number; lo: number; hi: number; n: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: NaN, hi: NaN, n };
  const half = (1.96 * Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1))) / Math.sqrt(n);
  return { mean, lo: mean - half, hi: mean + half, n };
}

/**
 * The tracing effect per layer over the facts of `problem`: each (fact, layer) counted once, however
 * many methods edited it (every method sees the same trace of a fact).
 */
export function tracingCurve(p: StudyPointColumns, problem: string, layers: readonly number[]): BandSeries {
  const pi = p.problems.indexOf(problem);
  const byLayer = new Map<number, Map<number, number>>();
  for (let i = 0; i < p.count; i++) {
    if (p.problem[i] !== pi || !Number.isFinite(p.tracingEffect[i])) continue;
    const facts = byLayer.get(p.layer[i]) ?? new Map<number, number>();
    facts.set(p.caseId[i], p.tracingEffect[i]);
    byLayer.set(p.layer[i], facts);
  }
  const bands = layers.map((l) => meanBand([...(byLayer.get(l)?.values() ?? [])]));
  return { label: 'tracing effect', mean: bands.map((b) => orNull(b.mean)), lo: bands.map((b) => orNull(b.lo)), hi: bands.map((b) => orNull(b.hi)) };
}

/** The scatter's points of one method × problem, one group per layer (layers ascending); undefined scores left out. */
export function scatterByLayer(p: StudyPointColumns, method: string, problem: string, metric: StudyMetricName): Array<{ layer: number; points: Array<{ x: number; y: number }> }> {
  const mi = p.methods.indexOf(method);
  const pi = p.problems.indexOf(problem);
  const groups = new Map<number, Array<{ x: number; y: number }>>();
  const ys = p[metric];
  for (let i = 0; i < p.count; i++) {
    if (p.method[i] !== mi || p.problem[i] !== pi) continue;
    const x = p.tracingEffect[i];
    const y = ys[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const g = groups.get(p.layer[i]) ?? [];
    g.push({ x, y });
    groups.set(p.layer[i], g);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([layer, points]) => ({ layer, points }));
}

/** Viridis (matplotlib), dark to light: layers coloured in order, readable on dark and light themes. */
const VIRIDIS = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

export function layerColour(layer: number, nLayers: number): string {
  return rampColour(VIRIDIS, nLayers > 1 ? layer / (nLayers - 1) : 0);
}

/** What the rows' localization effect is called in the charts: the tracing effect, or the patching effect. */
export const effectName = (s: Pick<StudySummary, 'localization'>): string => (s.localization === 'patching' ? 'patching effect' : 'tracing effect');

/** The header's one-line description of the folder. */
export function summaryLine(s: StudySummary): string {
  const parts = [
    s.model,
    `${s.cases} ${s.cases === 1 ? 'fact' : 'facts'}`,
    s.methods.join(', '),
    s.problems.join(', '),
    `layers ${s.layers.length > 6 ? `${s.layers[0]}–${s.layers[s.layers.length - 1]} (${s.layers.length})` : s.layers.join(', ')}`,
  ];
  if (s.localization === 'patching') parts.push('localization: activation patching');
  if (s.shard) parts.push(`shard ${s.shard}`);
  if (s.merged) parts.push('merged');
  return parts.join(' · ');
}

/** "40 / 40 edits", or "12 / 40 edits — partial" for a study that has not finished. */
export const progressLine = (s: StudySummary): string => `${s.rows} / ${s.expected} edits${s.rows < s.expected ? ' — partial' : ''}`;

/** The worker's study progress message without its leading count (the status line shows done / total itself). */
export const stageOf = (message: string | undefined): string | undefined => message?.replace(/^\d+\/\d+ edits( · )?/, '') || undefined;
