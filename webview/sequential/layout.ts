/**
 * The Sequential Editing panel's skeleton. Ids are the DOM contract the tests drive (keep them stable):
 * `#seq-status[data-state]`, `#seq-resume`, `#seq-reload`, canvases `#seq-scores`, `#seq-perplexity`,
 * `#seq-growth`, `table#seq-table` (rows `tr[data-edits]`).
 */
import { h } from '../shared/dom';

function chartFigure(id: string, label: string, height: number): HTMLElement {
  return h('div', { class: 'figure' },
    h('div', { class: 'canvas-box', style: `height:${height}px` }, h('canvas', { id, role: 'img', 'aria-label': label })),
    h('div', { class: 'actions' }, h('button', { id: `${id}-png`, type: 'button', class: 'secondary', title: `Save "${label}" as a PNG image` }, 'Export PNG')),
  );
}

export function buildLayout(root: HTMLElement): void {
  root.append(
    h('header', {},
      h('h1', { id: 'seq-title' }, 'Sequential editing'),
      h('p', { id: 'seq-meta', class: 'muted' }),
      h('div', { class: 'row' },
        h('div', { id: 'seq-status' }),
        h('button', { id: 'seq-reload', type: 'button', class: 'secondary', title: 'Read the run folder again' }, 'Reload'),
        h('button', { id: 'seq-resume', type: 'button', hidden: true, title: 'Run the batches this run still lacks (its own settings)' }, 'Resume'),
      ),
    ),
    h('div', { id: 'error', role: 'alert', hidden: true }),
    h('p', { class: 'note' },
      'After each measured batch, over ALL edits so far: the seed paper\'s rewrite / paraphrase / neighborhood scores against the unedited model, perplexity on a WikiText-2 sample, and ‖W‖_F of every edited weight over its original (norm growth).'),
    h('div', { class: 'grid-2' },
      chartFigure('seq-scores', 'Scores of all edits so far', 300),
      chartFigure('seq-perplexity', 'Held-out perplexity', 300),
    ),
    chartFigure('seq-growth', '‖W‖ growth per edited weight', 260),
    h('details', { id: 'seq-details', open: true },
      h('summary', {}, 'The points as a table'),
      h('div', { class: 'scroll-x' },
        h('table', { id: 'seq-table' },
          h('thead', {}, h('tr', {}, ...['edits', 'rewrite', 'paraphrase', 'neighborhood', 'perplexity', 'max ‖W‖ growth'].map((c, i) => h('th', i === 0 ? {} : { class: 'num' }, c)))),
          h('tbody', {}),
        ),
      ),
      h('div', { class: 'actions' }, h('button', { id: 'seq-csv', type: 'button', class: 'secondary' }, 'Export CSV')),
    ),
  );
}
