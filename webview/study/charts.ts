/**
 * The Study panel's two charts: per-layer mean curves with 95% bands (each band is a pair of invisible
 * lo/hi lines filled between, Chart.js's fill '-1') plus the tracing effect on a right-hand axis, and
 * the scatter of an edit score vs the tracing effect coloured by layer. No animation (complete in the
 * first frame); the theme's background is painted so exported PNGs read the same outside VS Code.
 */
import type { Chart as ChartType, ChartDataset } from 'chart.js';
import { CategoryScale, Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Title, Tooltip } from 'chart.js';
import { withAlpha } from '../shared/colour';
import { background } from '../shared/charts';
import type { ThemeColours } from '../shared/theme';
import type { BandSeries } from './data';
import { fmtR2, layerColour } from './data';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, CategoryScale, Filler, Legend, Tooltip, Title);

type LineData = ChartDataset<'line', Array<number | null>>;

/** lo (invisible), hi (invisible, filled down to lo), then the mean line; `band` marks the first two. */
function bandDatasets(s: BandSeries, colour: string, axis: 'y' | 'y1', dashed: boolean): Array<LineData & { band?: boolean }> {
  const edge = { borderWidth: 0, pointRadius: 0, pointHitRadius: 0, yAxisID: axis, spanGaps: false, band: true };
  return [
    { ...edge, label: `${s.label} lo`, data: s.lo, fill: false, borderColor: colour },
    { ...edge, label: `${s.label} hi`, data: s.hi, fill: '-1', borderColor: colour, backgroundColor: withAlpha(colour, 0.16) ?? 'rgba(128,128,128,0.16)' },
    { label: s.label, data: s.mean, borderColor: colour, backgroundColor: colour, borderWidth: 2, pointRadius: 3, borderDash: dashed ? [6, 4] : [], fill: false, yAxisID: axis, spanGaps: false },
  ];
}

export interface CurvesSpec {
  readonly layers: readonly number[];
  readonly series: readonly BandSeries[];
  readonly tracing: BandSeries;
  /** "tracing effect" or "patching effect" (the study's localization). */
  readonly effectLabel: string;
  readonly metricLabel: string;
  readonly title: string;
  readonly colours: ThemeColours;
}

export function curvesChart(canvas: HTMLCanvasElement, spec: CurvesSpec): ChartType<'line'> {
  const { colours } = spec;
  const text = { color: colours.foreground, font: { family: colours.font } };
  const grid = { color: colours.grid };
  const datasets = [
    ...spec.series.flatMap((s, k) => bandDatasets(s, colours.series[k % colours.series.length], 'y', false)),
    ...bandDatasets(spec.tracing, '#238b45', 'y1', true),
  ];
  const isBand = (i: number | undefined): boolean => i !== undefined && (datasets[i] as { band?: boolean }).band === true;
  return new Chart<'line', Array<number | null>, number>(canvas, {
    type: 'line',
    data: { labels: [...spec.layers], datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        title: { display: true, text: spec.title, ...text },
        legend: { labels: { ...text, usePointStyle: true, pointStyle: 'line', filter: (item) => !isBand(item.datasetIndex) } },
        tooltip: {
          filter: (item) => !isBand(item.datasetIndex),
          callbacks: {
            label: (item) => {
              const band = datasets[item.datasetIndex - 2]?.data as Array<number | null> | undefined;
              const hi = datasets[item.datasetIndex - 1]?.data as Array<number | null> | undefined;
              const ci = band && hi && band[item.dataIndex] !== null ? ` [${fmtR2(band[item.dataIndex]!)}, ${fmtR2(hi[item.dataIndex]!)}]` : '';
              return `${item.dataset.label}: ${item.parsed.y === null ? '—' : fmtR2(item.parsed.y)}${ci}`;
            },
          },
        },
      },
      scales: {
        x: { grid, ticks: text, title: { display: true, text: 'central edit layer', ...text } },
        y: { grid, ticks: text, title: { display: true, text: `${spec.metricLabel} (mean, 95% CI)`, ...text } },
        y1: { position: 'right', grid: { drawOnChartArea: false }, suggestedMin: 0, suggestedMax: 1, ticks: text, title: { display: true, text: `${spec.effectLabel} (mean, 95% CI)`, ...text } },
      },
    },
    plugins: [background(colours.background)],
  });
}

export interface ScatterSpec {
  readonly groups: ReadonlyArray<{ readonly layer: number; readonly points: ReadonlyArray<{ x: number; y: number }> }>;
  readonly nLayers: number;
  readonly effectLabel: string;
  readonly metricLabel: string;
  readonly title: string;
  readonly colours: ThemeColours;
}

export function scatterChart(canvas: HTMLCanvasElement, spec: ScatterSpec): ChartType<'scatter'> {
  const { colours } = spec;
  const text = { color: colours.foreground, font: { family: colours.font } };
  const grid = { color: colours.grid };
  const datasets: ChartDataset<'scatter', Array<{ x: number; y: number }>>[] = spec.groups.map((g) => {
    const c = layerColour(g.layer, spec.nLayers);
    return { label: `layer ${g.layer}`, data: [...g.points], borderColor: c, backgroundColor: withAlpha(c, 0.7) ?? c, pointRadius: 3, pointHoverRadius: 5 };
  });
  return new Chart<'scatter', Array<{ x: number; y: number }>>(canvas, {
    type: 'scatter',
    data: { datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        title: { display: true, text: spec.title, ...text },
        // Dozens of layers make a legend taller than the chart: the colours then run dark → light with the layer.
        legend: { display: spec.groups.length <= 16, labels: { ...text, boxWidth: 10 } },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${spec.effectLabel} ${fmtR2(item.parsed.x ?? NaN)}, score ${fmtR2(item.parsed.y ?? NaN)}` } },
      },
      scales: {
        x: { type: 'linear', grid, ticks: text, suggestedMin: 0, suggestedMax: 1, title: { display: true, text: `${spec.effectLabel} at the edit layer`, ...text } },
        y: { type: 'linear', grid, ticks: text, title: { display: true, text: spec.metricLabel, ...text } },
      },
    },
    plugins: [background(colours.background)],
  });
}
