/**
 * The Study panel's static skeleton. Ids are the DOM contract the e2e tests drive (keep them stable):
 * `#study-status[data-state]`, `table#r2-table` (cells `td[data-method][data-problem][data-metric][data-col]`),
 * canvases `#curves` and `#scatter`.
 */
import '@vscode-elements/elements/dist/vscode-divider/index.js';
import { h } from '../shared/dom';
import { METRIC_LABELS, R2_COLUMNS } from './data';
import { STUDY_METRIC_NAMES } from '../../src/protocol/panels/study';

/** A chart's box (Chart.js sizes itself to it) with its export buttons. */
function chartFigure(id: string, label: string, height: number): HTMLElement {
  return h('div', { class: 'figure' },
    h('div', { class: 'canvas-box', style: `height:${height}px` }, h('canvas', { id, role: 'img', 'aria-label': label })),
    h('div', { class: 'actions' },
      h('button', { id: `${id}-png`, type: 'button', class: 'secondary', title: `Save "${label}" as a PNG image` }, 'Export PNG'),
      h('button', { id: `${id}-csv`, type: 'button', class: 'secondary', title: `Save the data of "${label}" as CSV` }, 'Export CSV'),
    ),
  );
}

export function buildLayout(root: HTMLElement): void {
  root.append(
    h('header', {},
      h('h1', { id: 'study-title' }, 'Study'),
      h('p', { id: 'study-meta', class: 'muted' }),
      h('div', { class: 'row' },
        h('div', { id: 'study-status' }),
        h('button', { id: 'study-reload', type: 'button', class: 'secondary', title: 'Read results.jsonl again' }, 'Reload'),
        h('button', { id: 'study-resume', type: 'button', hidden: true, title: 'Run the edits this study still lacks (the manifest’s settings)' }, 'Resume'),
      ),
      h('p', { id: 'study-note', class: 'note', hidden: true }),
    ),
    h('div', { id: 'error', role: 'alert', hidden: true }),
    h('section', { id: 'regression' },
      h('h2', {}, 'Does the tracing effect predict edit success?'),
      h('p', { class: 'note' },
        'Per method × problem × score: R² of the edit score explained by the edit layer alone, by layer + layer × tracing effect, and the gain from adding tracing (Hase et al. 2023, Fig. 6 and Tables 3–6). p: F-test of layer + tracing against layer.'),
      h('div', { class: 'scroll-x' },
        h('table', { id: 'r2-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'method'), h('th', {}, 'problem'), h('th', {}, 'score'), h('th', { class: 'num' }, 'n'),
            ...R2_COLUMNS.map((c) => h('th', { class: 'num', title: c.title }, c.label)))),
          h('tbody', {}),
        ),
      ),
      h('div', { class: 'actions' }, h('button', { id: 'r2-csv', type: 'button', class: 'secondary' }, 'Export CSV')),
    ),
    h('vscode-divider', {}),
    h('section', { id: 'layers' },
      h('h2', {}, 'Per layer'),
      h('div', { class: 'row' },
        h('label', {}, 'Problem', h('select', { id: 'pick-problem' })),
        h('label', {}, 'Score', h('select', { id: 'pick-metric' }, ...STUDY_METRIC_NAMES.map((m) => h('option', { value: m }, METRIC_LABELS[m])))),
        h('label', {}, 'Method (scatter)', h('select', { id: 'pick-method' })),
      ),
      h('div', { class: 'grid-2' },
        chartFigure('curves', 'Mean score per layer with 95% bands, and the tracing effect', 340),
        chartFigure('scatter', 'Edit score vs tracing effect, by layer', 340),
      ),
      h('details', { id: 'layer-details' },
        h('summary', {}, 'Per-layer means as a table'),
        h('div', { class: 'scroll-x' }, h('table', { id: 'layer-table' }, h('thead', {}), h('tbody', {}))),
        h('div', { class: 'actions' }, h('button', { id: 'layers-csv', type: 'button', class: 'secondary' }, 'Export CSV (every method and problem)')),
      ),
    ),
  );
}
