/** Shaping a layer sweep (SweepResultDto) for the Compare panel's chart, table and CSV (pure). */
import type { EditMethod, MetricProtocolDto, SweepResultDto } from '../../src/protocol/dto';
import { METRIC_PROTOCOL_NAMES } from '../../src/protocol/dto';
import type { CsvValue } from './csv';

export type SweepMetric = 'rewrite' | 'paraphrase' | 'neighborhood' | 'overall';
export const SWEEP_METRICS: readonly SweepMetric[] = ['rewrite', 'paraphrase', 'neighborhood', 'overall'];

/** The layers on the x axis: every layer the sweep measured, ascending. */
export function sweepLayers(s: SweepResultDto): number[] {
  return [...new Set(s.points.map((p) => p.layer))].sort((a, b) => a - b);
}

/** The methods in the order they first appear. */
export function sweepMethods(s: SweepResultDto): EditMethod[] {
  return [...new Set(s.points.map((p) => p.method))];
}

/** Per method, the metric at each of `layers` (null where not measured or undefined for that problem). */
export function sweepSeries(s: SweepResultDto, metric: SweepMetric): Array<{ method: EditMethod; layers: number[]; values: Array<number | null> }> {
  const layers = sweepLayers(s);
  return sweepMethods(s).map((method) => ({
    method,
    layers,
    values: layers.map((l) => s.points.find((p) => p.method === method && p.layer === l)?.metrics[metric] ?? null),
  }));
}

/** The tracing effect at each of `layers` (null past its end). */
export const effectAt = (s: SweepResultDto, layers: readonly number[]): Array<number | null> => layers.map((l) => s.tracingEffect[l] ?? null);

/**
 * CSV: one row per (method, layer) with every metric and the tracing effect at that layer. Score
 * columns carry their protocol (`rewrite_hase_normalized`, …): the paper's scores (`metrics`), then
 * every other protocol all points have (README "Which metric?").
 */
export function sweepCsv(s: SweepResultDto): CsvValue[][] {
  const others = METRIC_PROTOCOL_NAMES.filter((p) => p !== 'hase-normalized' && s.points.length > 0 && s.points.every((x) => x.metricsByProtocol?.[p]));
  const protocols: MetricProtocolDto[] = ['hase-normalized', ...others];
  const column = (m: SweepMetric, p: MetricProtocolDto): string => `${m}_${p.replace(/-/g, '_')}`;
  const rows: CsvValue[][] = [['method', 'layer', 'edit_layers', ...protocols.flatMap((p) => SWEEP_METRICS.map((m) => column(m, p))), 'tracing_effect', 'seconds']];
  for (const x of s.points) {
    const scores = protocols.flatMap((p) => SWEEP_METRICS.map((m) => (p === 'hase-normalized' ? x.metrics[m] : (x.metricsByProtocol?.[p]?.[m] ?? null))));
    rows.push([x.method, x.layer, x.editLayers.join(' '), ...scores, s.tracingEffect[x.layer] ?? null, x.seconds]);
  }
  return rows;
}

/**
 * The sweep form's layer field: empty or "all" = every layer (undefined), else a comma list of layers
 * and ranges ("0-3, 8"). Throws a message for the error box on anything outside 0..nLayers-1.
 */
export function parseLayers(text: string, nLayers: number | undefined): number[] | undefined {
  const t = text.trim().toLowerCase();
  if (t === '' || t === 'all') return undefined;
  const out = new Set<number>();
  for (const part of t.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new Error(`Layers: "${part}" is not a layer or a range like 2-5`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`Layers: the range ${part} runs backwards`);
    for (let l = a; l <= b; l++) {
      if (nLayers !== undefined && l >= nLayers) throw new Error(`Layers: the model has layers 0–${nLayers - 1} (got ${l})`);
      out.add(l);
    }
  }
  if (out.size === 0) throw new Error('Layers: give "all" or a list such as 0-3, 8');
  return [...out].sort((x, y) => x - y);
}
