/**
 * The trace section: the three heatmaps (tokens × layers, ROME's figure), the per-layer tracing-effect
 * curves, and every grid again as an accessible table (`table[data-grid=kind]`, cells
 * `td[data-t][data-l]` with the 4-decimal score as text and the full value in data-value).
 */
import type { Chart } from 'chart.js';
import type { TraceKind } from '../../src/protocol/dto';
import type { ModelSummary, SaveNote, TraceGridWire, TraceView } from '../../src/protocol/panels/fact';
import { heatmapChart, heatmapHeight, lineChart } from '../shared/charts';
import { KIND_LINE, RAMPS } from '../shared/colour';
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

function gridTable(g: TraceGridWire, labels: readonly string[], caption: string): HTMLTableElement {
  const head = h('tr', {}, h('th', { scope: 'col' }, 'token'), ...Array.from({ length: g.layers }, (_, l) => h('th', { scope: 'col', class: 'num' }, l)));
  const body = h('tbody', {});
  for (let t = 0; t < g.tokens; t++) {
    const row = h('tr', {}, h('th', { scope: 'row' }, h('code', { class: 'token' }, labels[t])));
    for (let l = 0; l < g.layers; l++) {
      const v = cellAt(g, t, l);
      row.append(h('td', { class: 'num', 'data-t': t, 'data-l': l, 'data-value': v }, score4(v)));
    }
    body.append(row);
  }
  return h('table', { class: 'scores', 'data-grid': g.kind }, h('caption', {}, caption), h('thead', {}, head), body);
}

export class TraceSection {
  private charts: Chart[] = [];
  private shown?: { trace: TraceView & SaveNote; model: ModelSummary | null; subject: string };

  constructor(private readonly post: ExportPost) {}

  render(trace: TraceView & SaveNote, model: ModelSummary | null, subject: string): void {
    this.shown = { trace, model, subject };
    this.draw();
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
    const tables = byId('trace-tables');
    for (const t of [...tables.querySelectorAll('table')]) t.remove();
  }

  private destroyCharts(): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  private draw(): void {
    const { trace, model, subject } = this.shown!;
    this.wipe();
    const colours = themeColours();
    const labels = tokenLabels(trace.tokens, trace.subjectRange);
    const answer = trace.answer.trim() || trace.answer;
    const caption = `p(${answer})`;
    const slug = fileSlug(subject);
    byId('trace-summary').textContent =
      `Answer "${answer}": p = ${score4(trace.highScore)} clean, ${score4(trace.lowScore)} with the subject corrupted ` +
      `(noise σ = ${score4(trace.noiseLevel)}, ${trace.samples} samples, seed ${trace.seed}, ${trace.score} score); ` +
      `${trace.cells} cells in ${trace.seconds.toFixed(1)} s.` +
      (trace.savedAs ? ` Saved to ${trace.savedAs}.` : trace.note ? ` ${trace.note}` : '');
    // DOM first, charts after: each chart reads its box's size, so building them between DOM writes
    // would force a layout per chart.
    const pending: Array<() => Chart> = [];
    const heatmaps = byId('trace-heatmaps');
    const tables = byId('trace-tables');
    for (const g of trace.grids) {
      const title = `Impact of restoring ${NAME[g.kind]} after corrupted input`;
      const xLabel = g.kind === 'hidden' ? `single restored layer within ${model?.name ?? 'the model'}` : `center of interval of ${g.window} restored ${NAME[g.kind]} layers`;
      const { lo, hi } = gridRange(g, trace.lowScore);
      const fig: Figure = figure(
        `heatmap-${g.kind}`,
        title,
        heatmapHeight(g.tokens),
        () => void exportPng(this.post, fig.canvas, `${slug}-trace-${g.kind}`),
        () => exportCsv(this.post, gridCsv(g, trace.tokens, trace.subjectRange), `${slug}-trace-${g.kind}`),
      );
      heatmaps.append(fig.root);
      tables.append(gridTable(g, labels, `${title}: ${caption} per token (rows, * = subject) and layer (columns)`));
      pending.push(() => heatmapChart(fig.canvas, { grid: g, labels, lo, hi, ramp: RAMPS[g.kind], title, xLabel, caption, colours }));
    }
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
