/**
 * The trace section: the three heatmaps (tokens × layers, ROME's figure), the per-layer tracing-effect
 * curves, and every grid again as an accessible table (`table[data-grid=kind]`, cells
 * `td[data-t][data-l]` with the 4-decimal score as text and the full value in data-value).
 * While a trace runs with its preview (issue 19 item 4), the heatmaps first show the attribution-patching
 * estimate — hatched and faded, labelled approximate, table cells `td.approx` — and each exact cell
 * replaces its estimate as it arrives; the complete result is drawn plain.
 */
import type { Chart, ScriptableContext } from 'chart.js';
import type { MatrixDataPoint } from 'chartjs-chart-matrix';
import type { TraceKind } from '../../src/protocol/dto';
import type { TraceCellDto } from '../../src/protocol/engine';
import type { ModelSummary, SaveNote, TraceGridWire, TracePreviewView, TraceView } from '../../src/protocol/panels/fact';
import { heatmapChart, heatmapHeight, lineChart } from '../shared/charts';
import { KIND_LINE, normalise, rampColour, RAMPS } from '../shared/colour';
import { fileSlug } from '../shared/csv';
import { byId, clear, h } from '../shared/dom';
import type { ExportPost } from '../shared/exporting';
import { exportCsv, exportPng } from '../shared/exporting';
import type { Figure } from '../shared/figure';
import { figure } from '../shared/figure';
import { cellAt, effectCsv, gridCsv, gridRange, score4, tokenLabels } from '../shared/gridData';
import { themeColours } from '../shared/theme';

/** ROME's names: "state" for the hidden grid, "MLP" / "Attn" for the windowed ones. */
const NAME: Record<TraceKind, string> = { hidden: 'state', mlp: 'MLP', attn: 'Attn' };

/** A grid being filled in: which cells are still the preview's estimate (1), its heatmap, table and colour range. */
interface LiveGrid {
  readonly grid: TraceGridWire;
  readonly approx: Uint8Array;
  table?: HTMLTableElement;
  chart?: Chart<'matrix'>;
  lo: number;
  hi: number;
}

/** The hatch over an estimated cell: its colour at 45 % with thin grey diagonal strokes (cached per colour). */
const hatches = new Map<string, CanvasPattern | string>();
const HATCH = 10;
function hatched(colour: string): CanvasPattern | string {
  let pattern = hatches.get(colour);
  if (pattern === undefined) {
    const tile = document.createElement('canvas');
    tile.width = tile.height = HATCH;
    const c = tile.getContext('2d');
    if (c) {
      c.globalAlpha = 0.45;
      c.fillStyle = colour;
      c.fillRect(0, 0, HATCH, HATCH);
      c.globalAlpha = 1;
      // A mid grey stroke reads on the ramps' near-white low end and on light and dark themes alike.
      c.strokeStyle = 'rgba(127, 127, 127, 0.45)';
      c.lineWidth = 1;
      c.beginPath();
      for (const o of [-HATCH, 0, HATCH]) {
        c.moveTo(o, HATCH);
        c.lineTo(o + HATCH, 0);
      }
      c.stroke();
    }
    pattern = (c && c.createPattern(tile, 'repeat')) ?? colour;
    hatches.set(colour, pattern);
  }
  return pattern;
}

function gridTable(g: TraceGridWire, labels: readonly string[], caption: string, approx?: Uint8Array): HTMLTableElement {
  const head = h('tr', {}, h('th', { scope: 'col' }, 'token'), ...Array.from({ length: g.layers }, (_, l) => h('th', { scope: 'col', class: 'num' }, l)));
  const body = h('tbody', {});
  for (let t = 0; t < g.tokens; t++) {
    const row = h('tr', {}, h('th', { scope: 'row' }, h('code', { class: 'token' }, labels[t])));
    for (let l = 0; l < g.layers; l++) {
      const v = cellAt(g, t, l);
      const estimate = approx?.[t * g.layers + l] === 1;
      row.append(h('td', { class: estimate ? 'num approx' : 'num', 'data-t': t, 'data-l': l, 'data-value': v, title: estimate ? 'approximate (attribution patching)' : null }, score4(v)));
    }
    body.append(row);
  }
  return h('table', { class: 'scores', 'data-grid': g.kind }, h('caption', {}, caption), h('thead', {}, head), body);
}

type Shown =
  | { readonly mode: 'exact'; readonly trace: TraceView & SaveNote; readonly model: ModelSummary | null; readonly subject: string }
  | { readonly mode: 'preview'; readonly requestId: string; readonly preview: TracePreviewView; readonly model: ModelSummary | null; readonly subject: string; readonly live: Map<TraceKind, LiveGrid> };

export class TraceSection {
  private charts: Chart[] = [];
  private shown?: Shown;

  constructor(private readonly post: ExportPost) {}

  render(trace: TraceView & SaveNote, model: ModelSummary | null, subject: string): void {
    this.shown = { mode: 'exact', trace, model, subject };
    this.draw();
  }

  /** The request whose preview is on screen (undefined when an exact result or nothing is). */
  get previewing(): string | undefined {
    return this.shown?.mode === 'preview' ? this.shown.requestId : undefined;
  }

  /** Draws a running trace's attribution preview: every cell an estimate until its exact score arrives. */
  renderPreview(requestId: string, preview: TracePreviewView, model: ModelSummary | null, subject: string): void {
    const live = new Map<TraceKind, LiveGrid>();
    for (const g of preview.grids) {
      // A copy: exact cells are written into it, and the message's arrays stay as they came.
      const grid = { ...g, scores: Float32Array.from(g.scores) };
      const approx = new Uint8Array(g.tokens * g.layers).fill(1);
      live.set(g.kind, { grid, approx, ...gridRange(grid, preview.lowScore) });
    }
    this.shown = { mode: 'preview', requestId, preview, model, subject, live };
    this.draw();
  }

  /** Exact cells of the previewed trace replace their estimates (heatmap, table, count). */
  applyCells(requestId: string, cells: readonly TraceCellDto[]): void {
    const shown = this.shown;
    if (shown?.mode !== 'preview' || shown.requestId !== requestId) return;
    const touched = new Set<LiveGrid>();
    for (const c of cells) {
      const g = shown.live.get(c.kind);
      if (!g || c.t >= g.grid.tokens || c.layer >= g.grid.layers) continue;
      const i = c.t * g.grid.layers + c.layer;
      g.grid.scores[i] = c.score;
      g.approx[i] = 0;
      if (c.score > g.hi) g.hi = c.score;
      const td = g.table?.querySelector<HTMLTableCellElement>(`td[data-t="${c.t}"][data-l="${c.layer}"]`);
      if (td) {
        // The stored float32, as the final result's tables show it.
        td.textContent = score4(g.grid.scores[i]);
        td.dataset.value = String(g.grid.scores[i]);
        td.classList.remove('approx');
        td.removeAttribute('title');
      }
      const point = g.chart?.data.datasets[0].data[i] as (MatrixDataPoint & { v: number }) | undefined;
      if (point) point.v = c.score;
      touched.add(g);
    }
    for (const g of touched) g.chart?.update('none');
    this.countExact();
  }

  /** Redraws with the current theme (the data stays). */
  redraw(): void {
    if (this.shown) this.draw();
  }

  clear(): void {
    this.shown = undefined;
    this.wipe();
  }

  private wipe(): void {
    this.destroyCharts();
    clear(byId('trace-heatmaps'));
    clear(byId('trace-effect'));
    byId('trace-summary').textContent = '';
    byId('trace-approx').hidden = true;
    const tables = byId('trace-tables');
    for (const t of [...tables.querySelectorAll('table')]) t.remove();
  }

  /** The label's count: exact cells out of those the trace runs (tokens before the subject are never run; they stay the low score). */
  private countExact(): void {
    if (this.shown?.mode !== 'preview') return;
    const [b] = this.shown.preview.subjectRange;
    let exact = 0;
    let total = 0;
    for (const g of this.shown.live.values()) {
      for (let i = b * g.grid.layers; i < g.approx.length; i++) exact += g.approx[i] === 0 ? 1 : 0;
      total += g.approx.length - b * g.grid.layers;
    }
    byId('trace-approx-text').textContent =
      `Hatched cells are a first-order estimate from one forward and one backward pass (attribution patching, Nanda 2023), ` +
      `computed in ${this.shown.preview.seconds.toFixed(2)} s; the exact trace replaces them as it goes: ${exact} of ${total} cells exact.`;
  }

  private drawPreview(shown: Extract<Shown, { mode: 'preview' }>): void {
    const { preview, model, subject, live } = shown;
    const answer = preview.answer.trim() || preview.answer;
    byId('trace-summary').textContent =
      `Answer "${answer}": p = ${score4(preview.highScore)} clean, ${score4(preview.lowScore)} with the subject corrupted ` +
      `(first noise draw, σ = ${score4(preview.noiseLevel)}, seed ${preview.seed}, ${preview.score} score).`;
    byId('trace-approx').hidden = false;
    const pending = this.drawHeatmaps([...live.values()].map((g) => g.grid), preview.tokens, preview.subjectRange, preview.lowScore, answer, model, fileSlug(subject), live);
    for (const [kind, make] of pending) {
      const g = live.get(kind)!;
      g.chart = make();
      this.charts.push(g.chart);
      const ramp = RAMPS[kind];
      // Estimated cells hatched and faded; the range follows the exact cells as they raise the maximum.
      (g.chart.data.datasets[0] as { backgroundColor: unknown }).backgroundColor = (c: ScriptableContext<'matrix'>) => {
        const p = c.raw as MatrixDataPoint & { v: number };
        const colour = rampColour(ramp, normalise(p.v, g.lo, g.hi));
        return g.approx[Number(p.y) * g.grid.layers + Number(p.x)] === 1 ? hatched(colour) : colour;
      };
      g.chart.update('none');
    }
    this.countExact();
  }

  /** Heatmaps' figures and tables for `grids` into the DOM; answers each kind's chart maker (charts after the DOM). */
  private drawHeatmaps(
    grids: readonly TraceGridWire[],
    tokens: readonly string[],
    subjectRange: readonly [number, number],
    lowScore: number,
    answer: string,
    model: ModelSummary | null,
    slug: string,
    live?: Map<TraceKind, LiveGrid>,
  ): Array<[TraceKind, () => Chart<'matrix'>]> {
    const colours = themeColours();
    const labels = tokenLabels(tokens, subjectRange);
    const caption = `p(${answer})`;
    // DOM first, charts after: each chart reads its box's size, so building them between DOM writes
    // would force a layout per chart.
    const pending: Array<[TraceKind, () => Chart<'matrix'>]> = [];
    const heatmaps = byId('trace-heatmaps');
    const tables = byId('trace-tables');
    for (const g of grids) {
      const title = `Impact of restoring ${NAME[g.kind]} after corrupted input`;
      const xLabel = g.kind === 'hidden' ? `single restored layer within ${model?.name ?? 'the model'}` : `center of interval of ${g.window} restored ${NAME[g.kind]} layers`;
      const { lo, hi } = live?.get(g.kind) ?? gridRange(g, lowScore);
      const fig: Figure = figure(
        `heatmap-${g.kind}`,
        title,
        heatmapHeight(g.tokens),
        () => void exportPng(this.post, fig.canvas, `${slug}-trace-${g.kind}`),
        () => exportCsv(this.post, gridCsv(g, tokens, subjectRange), `${slug}-trace-${g.kind}`),
      );
      heatmaps.append(fig.root);
      const table = gridTable(g, labels, `${title}: ${caption} per token (rows, * = subject) and layer (columns)`, live?.get(g.kind)?.approx);
      tables.append(table);
      const lg = live?.get(g.kind);
      if (lg) lg.table = table;
      pending.push([g.kind, () => heatmapChart(fig.canvas, { grid: g, labels, lo, hi, ramp: RAMPS[g.kind], title, xLabel, caption, colours })]);
    }
    return pending;
  }

  private destroyCharts(): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  private draw(): void {
    const shown = this.shown!;
    this.wipe();
    if (shown.mode === 'preview') return this.drawPreview(shown);
    const { trace, model, subject } = shown;
    const colours = themeColours();
    const answer = trace.answer.trim() || trace.answer;
    const slug = fileSlug(subject);
    byId('trace-summary').textContent =
      `Answer "${answer}": p = ${score4(trace.highScore)} clean, ${score4(trace.lowScore)} with the subject corrupted ` +
      `(noise σ = ${score4(trace.noiseLevel)}, ${trace.samples} samples, seed ${trace.seed}, ${trace.score} score); ` +
      `${trace.cells} cells in ${trace.seconds.toFixed(1)} s.` +
      (trace.savedAs ? ` Saved to ${trace.savedAs}.` : trace.note ? ` ${trace.note}` : '');
    const pending: Array<() => Chart> = this.drawHeatmaps(trace.grids, trace.tokens, trace.subjectRange, trace.lowScore, answer, model, slug).map(([, make]) => make);
    const kinds = trace.grids.map((g) => g.kind).filter((k) => trace.tracingEffect[k]);
    if (kinds.length > 0) {
      const layers = Math.max(...kinds.map((k) => trace.tracingEffect[k]!.length));
      const fig: Figure = figure(
        'trace-effect-chart',
        'Tracing effect per layer',
        300,
        () => void exportPng(this.post, fig.canvas, `${slug}-tracing-effect`),
        () => exportCsv(this.post, effectCsv(trace.tracingEffect, trace.tracingEffectLastSubject), `${slug}-tracing-effect`),
      );
      byId('trace-effect').append(fig.root);
      pending.push(() =>
        lineChart(fig.canvas, {
          labels: Array.from({ length: layers }, (_, l) => l),
          series: kinds.flatMap((k) => [
            { label: `${NAME[k]}: max over tokens`, values: trace.tracingEffect[k]!, colour: KIND_LINE[k] },
            { label: `${NAME[k]}: last subject token`, values: trace.tracingEffectLastSubject[k] ?? [], colour: KIND_LINE[k], dashed: true },
          ]),
          title: 'Tracing effect per layer (fraction of the clean − corrupted gap restored)',
          xLabel: 'layer',
          yLabel: 'tracing effect',
          colours,
        }),
      );
    }
    this.charts = pending.map((make) => make());
  }
}
