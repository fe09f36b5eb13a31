/**
 * The Logit Lens panel's skeleton. Ids are the DOM contract the tests drive (keep them stable):
 * `#lens-prompt`, `#lens-answer`, `#lens-k`, `#lens-run`, `#lens-status[data-state]`, `#lens-summary`,
 * `#lens-stale`, `#lens-top` (holds `table#lens-map-top`), `#lens-answer-section` (holds
 * `table#lens-map-answer`), `#lens-detail` (holds `table#lens-cell-top`), exports `#lens-top-png`,
 * `#lens-top-csv`, `#lens-answer-png`, `#lens-answer-csv`, and `#error`.
 */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { LENS_DEFAULT_TOP, LENS_MAX_TOP } from '../../src/protocol/panels/lens';
import { h } from '../shared/dom';

const exports = (id: string, label: string): HTMLElement =>
  h('div', { class: 'actions' },
    h('button', { id: `${id}-png`, type: 'button', class: 'secondary', title: `Save ${label} as a PNG image` }, 'Export PNG'),
    h('button', { id: `${id}-csv`, type: 'button', class: 'secondary', title: `Save ${label} as CSV` }, 'Export CSV'),
  );

export function buildLayout(root: HTMLElement): void {
  root.append(
    h('header', {},
      h('h1', { id: 'lens-title' }, 'Logit lens'),
      h('div', { class: 'row' }, h('vscode-badge', { id: 'lens-model', hidden: true })),
    ),
    h('div', { id: 'error', role: 'alert', hidden: true }),
    h('p', { id: 'lens-prompt', class: 'prompt' }),
    h('p', { class: 'note' },
      'Every layer\'s residual stream (after the block) at every position, decoded through the model\'s final norm and unembedding as if it were the last layer (the logit lens: nostalgebraist 2020). The last row is the model\'s own next-token prediction. Hover a cell for its top K, click it for the table.'),
    h('div', { class: 'row' },
      h('label', {}, 'Answer to follow', h('input', { id: 'lens-answer', type: 'text', placeholder: 'optional, e.g. Paris', size: 18 })),
      h('label', {}, 'Top K', h('input', { id: 'lens-k', type: 'number', min: 1, max: LENS_MAX_TOP, value: LENS_DEFAULT_TOP, style: 'width:5em' })),
      h('label', {}, '\u00a0', h('button', { id: 'lens-run', type: 'button' }, 'Run')),
    ),
    h('div', { id: 'lens-status' }),
    h('p', { id: 'lens-summary', class: 'note' }, 'Loading the model…'),
    h('p', { id: 'lens-stale', class: 'note stale', hidden: true }),
    h('section', { id: 'lens-top-section', hidden: true },
      h('h2', {}, 'What each layer predicts'),
      h('div', { id: 'lens-top', class: 'scroll-x' }),
      exports('lens-top', 'the top-token map'),
    ),
    h('section', { id: 'lens-detail', hidden: true }),
    h('section', { id: 'lens-answer-section', hidden: true },
      h('h2', { id: 'lens-answer-title' }, 'The answer through the layers'),
      h('div', { id: 'lens-answer-map', class: 'scroll-x' }),
      exports('lens-answer', 'the answer map'),
    ),
  );
}
