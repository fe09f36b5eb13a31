/**
 * Chart.js set-up for the panels: ROME-style heatmaps (chartjs-chart-matrix; tokens down, layers
 * across, a colour bar from the low score to the grid's highest) and line charts (tracing effect,
 * sweeps, an optional second y axis). No animation: a chart is complete in the frame it is created,
 * which keeps render timing honest and screenshots deterministic. Charts paint the theme's background
 * so an exported PNG is readable outside VS Code.
 */
import type { Chart as ChartType, ChartDataset, Plugin, ScriptableContext } from 'chart.js';
import { Chart, Filler, Legend, LinearScale, CategoryScale, LineController, LineElement, PointElement, Title, Tooltip } from 'chart.js';
import type { MatrixDataPoint } from 'chartjs-chart-matrix';
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix';
import type { TraceGridWire } from '../../src/protocol/panels/fact';
import { normalise, rampColour } from './colour';
import { gridPoints, score4, tickEvery } from './gridData';
import type { ThemeColours } from './theme';

Chart.register(MatrixController, MatrixElement, LinearScale, CategoryScale, LineController, LineElement, PointElement, Tooltip, Legend, Title, Filler);

/** Fills the canvas with the theme background before anything else is drawn (for PNG export). */
export const background = (colour: string): Plugin => ({
  id: 'locusBackground',
  beforeDraw: (chart) => {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = colour;
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
});

const BAR_GAP = 14;
const BAR_WIDTH = 12;

/** ROME's colour bar, right of the grid: the ramp from lo (bottom) to hi (top), with both values and the score's name. */
const colourBar = (ramp: readonly string[], lo: number, hi: number, caption: string, colours: ThemeColours): Plugin => ({
  id: 'locusColourBar',
  afterDraw: (chart) => {
    const { ctx, chartArea } = chart;
    const x = chartArea.right + BAR_GAP;
    const gradient = ctx.createLinearGradient(0, chartArea.bottom, 0, chartArea.top);
    ramp.forEach((c, i) => gradient.addColorStop(i / (ramp.length - 1), c));
    ctx.save();
    ctx.fillStyle = gradient;
    ctx.fillRect(x, chartArea.top, BAR_WIDTH, chartArea.bottom - chartArea.top);
    ctx.strokeStyle = colours.grid;
    ctx.strokeRect(x, chartArea.top, BAR_WIDTH, chartArea.bottom - chartArea.top);
    ctx.fillStyle = colours.foreground;
    ctx.font = `11px ${colours.font}`;
    ctx.textBaseline = 'middle';
    ctx.fillText(score4(hi), x + BAR_WIDTH + 4, chartArea.top + 5);
    ctx.fillText(score4(lo), x + BAR_WIDTH + 4, chartArea.bottom - 5);
    ctx.textBaseline = 'bottom';
    ctx.fillText(caption, x - 4, chartArea.top - 4);
    ctx.restore();
  },
});

/** A dashed frame around each marked layer's column (an edit's layers on a re-trace), labelled "edit" above it. */
const layerMarks = (layers: readonly number[], colours: ThemeColours): Plugin => ({
  id: 'locusLayerMarks',
  afterDatasetsDraw: (chart) => {
    const { ctx, chartArea, scales } = chart;
    ctx.save();
    ctx.strokeStyle = colours.foreground;
    ctx.fillStyle = colours.foreground;
    ctx.lineWidth = 2;
    ctx.setLineDash([4, 3]);
    ctx.font = `10px ${colours.font}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    for (const l of layers) {
      const x0 = scales.x.getPixelForValue(l - 0.5);
      const x1 = scales.x.getPixelForValue(l + 0.5);
      ctx.strokeRect(x0 + 1, chartArea.top + 1, x1 - x0 - 2, chartArea.bottom - chartArea.top - 2);
      ctx.fillText('edit', (x0 + x1) / 2, chartArea.top - 1);
    }
    ctx.restore();
  },
});

export interface HeatmapSpec {
  readonly grid: TraceGridWire;
  /** Row labels (subject tokens with '*'). */
  readonly labels: readonly string[];
  readonly lo: number;
  readonly hi: number;
  readonly ramp: readonly string[];
  readonly title: string;
  readonly xLabel: string;
  /** The colour bar's caption, e.g. p(Seattle). */
  readonly caption: string;
  readonly colours: ThemeColours;
  /** Layers to frame (a re-trace marks the edit's layers). */
  readonly markLayers?: readonly number[];
}

/** Heatmap height for T tokens: ROME's rows are about 22 px; plus title and axis. */
export const heatmapHeight = (tokens: number): number => 22 * tokens + 96;

export function heatmapChart(canvas: HTMLCanvasElement, spec: HeatmapSpec): ChartType<'matrix'> {
  const { grid, labels, lo, hi, ramp, colours } = spec;
  const T = grid.tokens;
  const L = grid.layers;
  const text = { color: colours.foreground, font: { family: colours.font } };
  return new Chart<'matrix', MatrixDataPoint[]>(canvas, {
    type: 'matrix',
    data: {
      datasets: [
        {
          label: spec.title,
          data: gridPoints(grid),
          backgroundColor: (c: ScriptableContext<'matrix'>) => rampColour(ramp, normalise((c.raw as MatrixDataPoint).v ?? NaN, lo, hi)),
          borderWidth: 0,
          width: ({ chart }) => (chart.chartArea ? chart.chartArea.width / L : 0),
          height: ({ chart }) => (chart.chartArea ? chart.chartArea.height / T : 0),
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      layout: { padding: { right: BAR_GAP + BAR_WIDTH + 52, top: 4 } },
      plugins: {
        legend: { display: false },
        title: { display: true, text: spec.title, ...text },
        tooltip: {
          callbacks: {
            title: (items) => labels[(items[0].raw as { y: number }).y] ?? '',
            label: (item) => {
              const p = item.raw as { x: number; v: number };
              return `layer ${p.x}: ${spec.caption} = ${score4(p.v)}`;
            },
          },
        },
      },
      scales: {
        x: {
          type: 'linear',
          min: -0.5,
          max: L - 0.5,
          offset: false,
          grid: { display: false },
          afterBuildTicks: (axis) => {
            const every = tickEvery(L);
            axis.ticks = Array.from({ length: Math.ceil(L / every) }, (_, i) => ({ value: i * every }));
          },
          ticks: { ...text, autoSkip: false, maxRotation: 0, callback: (v) => String(v) },
          title: { display: true, text: spec.xLabel, ...text },
        },
        y: {
          type: 'linear',
          reverse: true,
          min: -0.5,
          max: T - 0.5,
          offset: false,
          grid: { display: false },
          afterBuildTicks: (axis) => {
            axis.ticks = Array.from({ length: T }, (_, t) => ({ value: t }));
          },
          ticks: { ...text, autoSkip: false, callback: (v) => labels[Number(v)] ?? '' },
        },
      },
    },
    plugins: [background(colours.background), colourBar(ramp, lo, hi, spec.caption, colours), ...(spec.markLayers?.length ? [layerMarks(spec.markLayers, colours)] : [])],
  });
}

/**
 * Axis numbers without Intl.NumberFormat (Chart.js's default): building the first formatter costs ~40 ms,
 * a visible share of a panel's render budget. Trailing zeros go (0.50 → 0.5), as Chart.js prints them.
 */
const tick = (v: number | string): string => (typeof v === 'number' ? String(Number(v.toFixed(4))) : v);

export interface LineSeries {
  readonly label: string;
  readonly values: ReadonlyArray<number | null>;
  readonly colour: string;
  readonly dashed?: boolean;
  /** 'y1' = the right-hand axis. */
  readonly axis?: 'y' | 'y1';
  /** Shade the area under the line (the tracing effect behind a sweep). */
  readonly fill?: string;
}

export interface LineSpec {
  readonly labels: ReadonlyArray<string | number>;
  readonly series: readonly LineSeries[];
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly y1Label?: string;
  readonly colours: ThemeColours;
}

export function lineChart(canvas: HTMLCanvasElement, spec: LineSpec): ChartType<'line'> {
  const { colours } = spec;
  const text = { color: colours.foreground, font: { family: colours.font } };
  const grid = { color: colours.grid };
  const datasets: ChartDataset<'line', Array<number | null>>[] = spec.series.map((s) => ({
    label: s.label,
    data: [...s.values],
    borderColor: s.colour,
    backgroundColor: s.fill ?? s.colour,
    borderDash: s.dashed ? [6, 4] : [],
    borderWidth: 2,
    pointRadius: 2.5,
    spanGaps: false,
    fill: s.fill ? 'origin' : false,
    yAxisID: s.axis ?? 'y',
    order: s.fill ? 2 : 1,
  }));
  const hasY1 = spec.series.some((s) => s.axis === 'y1');
  return new Chart<'line', Array<number | null>, string | number>(canvas, {
    type: 'line',
    data: { labels: [...spec.labels], datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { labels: { ...text, usePointStyle: false } },
        title: { display: true, text: spec.title, ...text },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.parsed.y === null ? '—' : score4(item.parsed.y)}` } },
      },
      scales: {
        x: { grid, ticks: text, title: { display: true, text: spec.xLabel, ...text } },
        y: { grid, suggestedMin: 0, suggestedMax: 1, ticks: { ...text, callback: tick }, title: { display: true, text: spec.yLabel, ...text } },
        ...(hasY1
          ? { y1: { position: 'right' as const, grid: { drawOnChartArea: false }, suggestedMin: 0, suggestedMax: 1, ticks: { ...text, callback: tick }, title: { display: true, text: spec.y1Label ?? '', ...text } } }
          : {}),
      },
    },
    plugins: [background(colours.background)],
  });
}

/**
 * Draws a throw-away heatmap and line chart off-screen while the panel is idle, so the first real chart
 * does not pay for compiling Chart.js's code paths (a cold first render took 2–3× a warm one).
 */
export function warmUpCharts(colours: ThemeColours): void {
  const run = (): void => {
    const box = document.createElement('div');
    box.setAttribute('aria-hidden', 'true');
    box.style.cssText = 'position:absolute;left:-10000px;top:0;width:320px;height:200px;';
    const canvas = document.createElement('canvas');
    box.appendChild(canvas);
    document.body.appendChild(box);
    try {
      const grid: TraceGridWire = { kind: 'hidden', window: 1, tokens: 2, layers: 2, scores: new Float32Array([0, 0.5, 0.25, 1]) };
      heatmapChart(canvas, { grid, labels: ['a', 'b'], lo: 0, hi: 1, ramp: ['#ffffff', '#000000'], title: 't', xLabel: 'x', caption: 'p', colours }).destroy();
      const series: LineSeries[] = [{ label: 'a', values: [0, 1], colour: '#000000' }, { label: 'b', values: [1, null], colour: '#000000', axis: 'y1', fill: 'rgba(0,0,0,0.1)', dashed: true }];
      lineChart(canvas, { labels: [0, 1], series, title: 't', xLabel: 'x', yLabel: 'y', y1Label: 'y1', colours }).destroy();
    } finally {
      box.remove();
    }
  };
  const idle = (globalThis as { requestIdleCallback?: (cb: () => void, o?: { timeout: number }) => number }).requestIdleCallback;
  if (idle) idle(run, { timeout: 2000 });
  else setTimeout(run, 50);
}
