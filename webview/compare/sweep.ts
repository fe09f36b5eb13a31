/** Part (b): a layer sweep's chart (the chosen metric per layer and method over the tracing effect, right axis) and table. */
import type { Chart } from 'chart.js';
import type { SweepView } from '../../src/protocol/panels/compare';
import { lineChart } from '../shared/charts';
import { withAlpha } from '../shared/colour';
import { fileSlug } from '../shared/csv';
import { byId, clear, h } from '../shared/dom';
import { fixed3 } from '../shared/editData';
import type { ExportPost } from '../shared/exporting';
import { exportCsv, exportPng } from '../shared/exporting';
import type { Figure } from '../shared/figure';
import { figure } from '../shared/figure';
import type { SweepMetric } from '../shared/sweepData';
import { effectAt, sweepCsv, SWEEP_METRICS, sweepLayers, sweepMethods, sweepSeries } from '../shared/sweepData';
import { themeColours } from '../shared/theme';

export class SweepSection {
  private chart?: Chart;
  private shown?: SweepView;

  constructor(
    private readonly post: ExportPost,
    private readonly metric: () => SweepMetric,
  ) {}

  render(view: SweepView | undefined): void {
    this.shown = view;
    this.chart?.destroy();
    this.chart = undefined;
    clear(byId('sweep-chart'));
    clear(byId('sweep-table'));
    if (!view) return;
    const s = view.sweep;
    const colours = themeColours();
    const layers = sweepLayers(s);
    const metric = this.metric();
    const slug = fileSlug(s.subject);
    const fig: Figure = figure(
      'sweep-figure',
      `${metric} score per layer`,
      340,
      () => void exportPng(this.post, fig.canvas, `${slug}-sweep-${metric}`),
      () => exportCsv(this.post, sweepCsv(s), `${slug}-sweep`),
    );
    byId('sweep-chart').append(fig.root);
    this.chart = lineChart(fig.canvas, {
      labels: layers,
      series: [
        ...sweepSeries(s, metric).map((line, i) => ({ label: `${line.method}: ${metric}`, values: line.values, colour: colours.series[i % colours.series.length] })),
        { label: 'tracing effect (MLP)', values: effectAt(s, layers), colour: colours.muted, dashed: true, axis: 'y1' as const, fill: withAlpha(colours.muted, 0.15) ?? 'rgba(128,128,128,0.15)' },
      ],
      title: `"${s.subject}" (${s.problem}): ${metric} score by edit layer, over the tracing effect`,
      xLabel: 'edit layer',
      yLabel: `${metric} score`,
      y1Label: 'tracing effect',
      colours,
    });
    this.renderTable(view);
    byId('sweep-fact').textContent = `${view.fact ? `"${view.fact.prompt}" → ${view.fact.targetNew ?? '?'}` : s.subject}` + (view.savedAs ? ` · saved to ${view.savedAs}` : view.note ? ` · ${view.note}` : '');
  }

  redraw(): void {
    this.render(this.shown);
  }

  private renderTable(view: SweepView): void {
    const s = view.sweep;
    const table = byId('sweep-table');
    table.append(
      h('caption', {}, 'Every (method, layer) of the sweep; the tracing effect is the fact’s, at that layer'),
      h('thead', {}, h('tr', {}, h('th', {}, 'method'), h('th', { class: 'num' }, 'layer'), h('th', {}, 'edit layers'), ...SWEEP_METRICS.map((m) => h('th', { class: 'num' }, m)), h('th', { class: 'num' }, 'tracing effect'))),
    );
    const body = h('tbody', {});
    for (const method of sweepMethods(s)) {
      for (const p of s.points.filter((q) => q.method === method).sort((a, b) => a.layer - b.layer)) {
        const te = s.tracingEffect[p.layer] ?? null;
        body.append(
          h('tr', {},
            h('td', {}, method),
            h('td', { class: 'num' }, p.layer),
            h('td', {}, p.editLayers.join(', ')),
            ...SWEEP_METRICS.map((m) => h('td', { class: 'num', 'data-method': method, 'data-l': p.layer, 'data-metric': m, 'data-value': p.metrics[m] ?? '' }, fixed3(p.metrics[m]))),
            h('td', { class: 'num', 'data-method': method, 'data-l': p.layer, 'data-metric': 'tracing-effect', 'data-value': te ?? '' }, fixed3(te)),
          ),
        );
      }
    }
    table.append(body);
  }
}
