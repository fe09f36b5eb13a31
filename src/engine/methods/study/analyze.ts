/**
 * `locus study analyze`: the seed paper's Fig. 6 / Tables 3–6 regressions (research/seed-paper.md
 * §6.1) per method × problem × metric — R² of the edit score explained by the central edit layer
 * alone (factor(layer)), by the tracing effect alone, and by both (factor(layer) * tracing), and the
 * gain of adding tracing — plus per-layer means with 95% normal-approximation intervals.
 * NaN (undefined R², intervals of one row) prints as null in JSON.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { layerTracingR2 } from './ols';
import { fsError } from '../../files/read';
import { assertUniqueKeys, MANIFEST, readManifest, readResultsWithLength, RESULTS } from './store';
import type { StudyManifest, StudyMetric, StudyRow } from './types';
import { STUDY_METRICS } from './types';

export interface RegressionRow {
  readonly method: string;
  readonly problem: string;
  readonly metric: StudyMetric;
  /** Rows with this metric defined. */
  readonly n: number;
  readonly r2Layer: number;
  readonly r2LayerTracing: number;
  /** r2LayerTracing − r2Layer (the paper's "Diff"). */
  readonly r2Gain: number;
  /** R² of the tracing effect alone (the paper's "Trace" column). */
  readonly r2Tracing: number;
  /** p-value of the nested F-test both vs. layer (R's anova; the paper's "p" column). */
  readonly pValue: number;
}

/** Mean and 95% interval mean ± 1.96 · s/√n (s the unbiased standard deviation). */
export interface MeanCI {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
}

export interface LayerSummary {
  readonly method: string;
  readonly problem: string;
  readonly layer: number;
  readonly n: number;
  readonly tracingEffect: MeanCI;
  readonly rewrite: MeanCI;
  readonly paraphrase: MeanCI;
  readonly neighborhood: MeanCI;
  readonly overall: MeanCI;
}

export interface StudyAnalysis {
  readonly rows: RegressionRow[];
  readonly perLayer: LayerSummary[];
}

export function meanCI(xs: readonly number[]): MeanCI {
  const n = xs.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: NaN, hi: NaN, n };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (1.96 * sd) / Math.sqrt(n);
  return { mean, lo: mean - half, hi: mean + half, n };
}

const groupBy = <T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> => {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
};

const metricOf = (r: StudyRow, metric: StudyMetric): number | null => {
  const v = r.metrics[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

/** The regressions and per-layer summaries of a list of study rows (pure). */
export function analyzeRows(rows: readonly StudyRow[]): StudyAnalysis {
  const out: RegressionRow[] = [];
  const perLayer: LayerSummary[] = [];
  for (const group of groupBy(rows, (r) => `${r.method}\u0000${r.problem}`).values()) {
    const { method, problem } = group[0];
    for (const metric of STUDY_METRICS) {
      const usable = group.filter((r) => metricOf(r, metric) !== null && Number.isFinite(r.tracingEffect));
      const y = usable.map((r) => metricOf(r, metric)!);
      const fit = layerTracingR2(usable.map((r) => r.layer), usable.map((r) => r.tracingEffect), y);
      out.push({ method, problem, metric, n: usable.length, r2Layer: fit.r2Layer, r2LayerTracing: fit.r2LayerTracing, r2Gain: fit.r2LayerTracing - fit.r2Layer, r2Tracing: fit.r2Tracing, pValue: fit.pValue });
    }
    const layers = [...new Set(group.map((r) => r.layer))].sort((a, b) => a - b);
    for (const layer of layers) {
      const at = group.filter((r) => r.layer === layer);
      const ci = (metric: StudyMetric): MeanCI => meanCI(at.map((r) => metricOf(r, metric)).filter((v): v is number => v !== null));
      perLayer.push({
        method, problem, layer, n: at.length, tracingEffect: meanCI(at.map((r) => r.tracingEffect).filter(Number.isFinite)),
        rewrite: ci('rewrite'), paraphrase: ci('paraphrase'), neighborhood: ci('neighborhood'), overall: ci('overall'),
      });
    }
  }
  return { rows: out, perLayer };
}

/** `dir` must be an existing folder holding a study's manifest (`what` names it in messages). */
export function requireStudy(dir: string, what = 'study folder'): StudyManifest {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw fsError(e, dir, what);
  }
  if (!st.isDirectory()) throw new LocusError('bad-input', `${what} ${dir} is a file; give the folder a study run wrote (it holds ${MANIFEST} and ${RESULTS})`);
  const manifest = readManifest(dir);
  if (!manifest) throw new LocusError('not-found', `${dir} is not a study folder (no ${MANIFEST})`);
  return manifest;
}

/**
 * A study folder's manifest and complete rows (read once, so an analysis and its raw points agree).
 * Rows with a repeated key are refused, naming the lines.
 */
export function readStudy(dir: string): { manifest: StudyManifest; rows: StudyRow[]; dir: string } {
  const manifest = requireStudy(dir);
  const { rows, lines } = readResultsWithLength(dir);
  if (rows.length === 0) throw new LocusError('bad-input', `${dir} holds no results yet`);
  assertUniqueKeys(path.join(dir, RESULTS), rows, lines);
  return { manifest, rows, dir: path.resolve(dir) };
}

/** Reads a study folder (a run, a shard, or a merge) and analyzes its rows. */
export function analyzeStudy(dir: string): StudyAnalysis & { manifest: StudyManifest; dir: string } {
  const study = readStudy(dir);
  return { ...analyzeRows(study.rows), manifest: study.manifest, dir: study.dir };
}
