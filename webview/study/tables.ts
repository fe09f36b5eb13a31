/** The Study panel's tables: the R² table (one row per method × problem × score) and the per-layer means. */
import type { LayerMeansView, R2RowView, StudyMetricName } from '../../src/protocol/panels/study';
import { byId, clear, h } from '../shared/dom';
import { fmtCell, fmtR2, METRIC_LABELS, R2_COLUMNS } from './data';

/** Cells carry data-method/-problem/-metric/-col and the full-precision value (data-value; "" when undefined). */
export function renderR2Table(rows: readonly R2RowView[]): void {
  const body = byId('r2-table').querySelector('tbody')!;
  clear(body);
  for (const r of rows) {
    const keys = { 'data-method': r.method, 'data-problem': r.problem, 'data-metric': r.metric };
    body.append(
      h('tr', keys,
        h('td', {}, r.method),
        h('td', {}, r.problem),
        h('td', {}, r.metric),
        h('td', { class: 'num', ...keys, 'data-col': 'n', 'data-value': r.n }, r.n),
        ...R2_COLUMNS.map((c) => h('td', { class: `num${c.key === 'r2Gain' ? ' gain' : ''}`, ...keys, 'data-col': c.key, 'data-value': Number.isFinite(r[c.key]) ? r[c.key] : '' }, fmtCell(c.key, r[c.key]))),
      ),
    );
  }
  if (rows.length === 0) body.append(h('tr', {}, h('td', { colspan: 4 + R2_COLUMNS.length, class: 'muted' }, 'No results yet.')));
}

const ciText = (c: { mean: number; lo: number; hi: number }): string => (Number.isFinite(c.lo) ? `${fmtR2(c.mean)} [${fmtR2(c.lo)}, ${fmtR2(c.hi)}]` : fmtR2(c.mean));

/** Per layer × method of one problem: n, the tracing effect and the chosen score, mean [95% CI]. */
export function renderLayerTable(perLayer: readonly LayerMeansView[], problem: string, metric: StudyMetricName): void {
  const table = byId('layer-table');
  const head = table.querySelector('thead')!;
  const body = table.querySelector('tbody')!;
  clear(head);
  clear(body);
  head.append(h('tr', {}, h('th', {}, 'method'), h('th', { class: 'num' }, 'layer'), h('th', { class: 'num' }, 'n'), h('th', { class: 'num' }, 'tracing effect'), h('th', { class: 'num' }, METRIC_LABELS[metric])));
  for (const p of perLayer.filter((x) => x.problem === problem)) {
    body.append(h('tr', { 'data-method': p.method, 'data-layer': p.layer },
      h('td', {}, p.method), h('td', { class: 'num' }, p.layer), h('td', { class: 'num' }, p.n),
      h('td', { class: 'num' }, ciText(p.tracingEffect)), h('td', { class: 'num' }, ciText(p[metric])),
    ));
  }
}
