/**
 * The re-trace section (issue 19 item 1): per kind, three heatmaps side by side — the original model
 * (the file's weights), the edited model (the applied edits) and edited − original — under the same
 * noise draws and answer, with the edit's layers framed on each. Every grid is also an accessible
 * table (`table[data-retrace=original|edited|difference][data-grid=kind]`, cells `td[data-t][data-l]`).
 */
import type { Chart } from 'chart.js';
import type { TraceKind } from '../../src/protocol/dto';
import type { ModelSummary, RetraceView, TraceGridWire } from '../../src/protocol/panels/fact';
import { heatmapChart, heatmapHeight } from '../shared/charts';
import { RAMPS } from '../shared/colour';
import { fileSlug } from '../shared/csv';
import { byId, clear, h } from '../shared/dom';
import type { ExportPost } from '../shared/exporting';
import { exportCsv, exportPng } from '../shared/exporting';
import type { Figure } from '../shared/figure';
import { figure } from '../shared/figure';
import { cellAt, gridCsv, gridRange, score4, tokenLabels } from '../shared/gridData';
import { themeColours } from '../shared/theme';

const NAME: Record<TraceKind, string> = { hidden: 'state', mlp: 'MLP', attn: 'Attn' };

/** matplotlib's RdBu reversed (ColorBrewer, 9 classes): blue where the edit lowered the score, red where it raised it, white at 0. */
const DIVERGING: readonly string[] = ['#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7', '#fddbc7', '#f4a582', '#d6604d', '#b2182b'];

type Which = 'original' | 'edited' | 'difference';

function gridTable(g: TraceGridWire, which: Which, labels: readonly string[], caption: string): HTMLTableElement {
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
  return h('table', { class: 'scores', 'data-retrace': which, 'data-grid': g.kind }, h('caption', {}, caption), h('thead', {}, head), body);
}

export class RetraceSection {
  private charts: Chart[] = [];
  private shown?: { retrace: RetraceView; model: ModelSummary | null; subject: string };

  constructor(private readonly post: ExportPost) {}

  render(retrace: RetraceView, model: ModelSummary | null, subject: string): void {
    this.shown = { retrace, model, subject };
    this.draw();
  }

  redraw(): void {
    if (this.shown) this.draw();
  }

  clear(): void {
    this.shown = undefined;
    this.wipe();
  }

  private wipe(): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
    clear(byId('retrace-heatmaps'));
    byId('retrace-summary').textContent = '';
    const tables = byId('retrace-tables');
    for (const t of [...tables.querySelectorAll('table')]) t.remove();
    byId('retrace-tables').hidden = true;
  }

  private draw(): void {
    const { retrace, model, subject } = this.shown!;
    this.wipe();
    const { edited, original, difference, edit } = retrace;
    const colours = themeColours();
    const labels = tokenLabels(edited.tokens, edited.subjectRange);
    const answer = edited.answer.trim() || edited.answer;
    const layers = edit.layers.join(', ');
    const slug = fileSlug(subject);
    byId('retrace-summary').textContent =
      `Re-traced with the applied edit (${edit.method} at layer${edit.layers.length > 1 ? 's' : ''} ${layers}, framed on the maps), ` +
      `same noise draws, σ and answer "${answer}": clean p = ${score4(original.highScore)} original → ${score4(edited.highScore)} edited; ` +
      `corrupted ${score4(original.lowScore)} → ${score4(edited.lowScore)}; ${2 * edited.cells} cells in ${edited.seconds.toFixed(1)} s.`;
    const heatmaps = byId('retrace-heatmaps');
    const tables = byId('retrace-tables');
    tables.hidden = false;
    const pending: Array<() => Chart> = [];
    for (const g of edited.grids) {
      const o = original.grids.find((x) => x.kind === g.kind);
      const d = difference.find((x) => x.kind === g.kind);
      if (!o || !d) continue;
      const xLabel = g.kind === 'hidden' ? `single restored layer within ${model?.name ?? 'the model'}` : `center of interval of ${g.window} restored ${NAME[g.kind]} layers`;
      // Original and edited share one colour scale, so the two maps compare at a glance; the difference is symmetric around 0.
      const a = gridRange(o, original.lowScore);
      const b = gridRange(g, edited.lowScore);
      const shared = { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
      let m = 0;
      for (const v of d.scores) m = Math.max(m, Math.abs(v));
      const maps: Array<{ which: Which; grid: TraceGridWire; lo: number; hi: number; ramp: readonly string[]; caption: string; title: string }> = [
        { which: 'original', grid: o, ...shared, ramp: RAMPS[g.kind], caption: `p(${answer})`, title: `${NAME[g.kind]}: original` },
        { which: 'edited', grid: g, ...shared, ramp: RAMPS[g.kind], caption: `p(${answer})`, title: `${NAME[g.kind]}: edited` },
        { which: 'difference', grid: d, lo: -m || -1e-9, hi: m || 1e-9, ramp: DIVERGING, caption: 'Δp', title: `${NAME[g.kind]}: edited − original` },
      ];
      const row = h('div', { class: 'grid-3', 'data-retrace-kind': g.kind });
      heatmaps.append(row);
      for (const s of maps) {
        const name = `${slug}-retrace-${g.kind}-${s.which}`;
        const fig: Figure = figure(
          `retrace-${g.kind}-${s.which}`,
          s.title,
          heatmapHeight(g.tokens),
          () => void exportPng(this.post, fig.canvas, name),
          () => exportCsv(this.post, gridCsv(s.grid, edited.tokens, edited.subjectRange), name),
        );
        row.append(fig.root);
        tables.append(gridTable(s.grid, s.which, labels, `${s.title}: ${s.caption} per token (rows, * = subject) and layer (columns); edit at layer ${layers}`));
        pending.push(() => heatmapChart(fig.canvas, { grid: s.grid, labels, lo: s.lo, hi: s.hi, ramp: s.ramp, title: s.title, xLabel, caption: s.caption, colours, markLayers: edit.layers }));
      }
    }
    this.charts = pending.map((make) => make());
  }
}
