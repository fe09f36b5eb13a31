/** The Fact panel's static skeleton. Ids are the DOM contract the e2e tests drive (issue 6 §8); keep them stable. */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-divider/index.js';
import { EDIT_METHOD_NAMES, EDITING_PROBLEM_NAMES } from '../../src/protocol/panels/fact';
import { h } from '../shared/dom';

const METHOD_TITLES: Record<string, string> = { rome: 'ROME', memit: 'MEMIT', ft: 'FT (constrained, one layer)', ft5: 'FT-5 (five layers)' };

export function buildLayout(root: HTMLElement): void {
  root.append(
    h('header', {},
      h('h1', { id: 'title' }, 'Fact'),
      h('div', { class: 'row' }, h('vscode-badge', { id: 'model-badge', hidden: true }), h('span', { id: 'saved-note', class: 'muted', hidden: true })),
    ),
    h('div', { id: 'error', role: 'alert', hidden: true }),
    h('section', { id: 'fact' }, h('p', { id: 'prompt', class: 'prompt' }, h('span', { class: 'muted' }, 'Loading the model…')), h('p', { id: 'targets', class: 'muted' })),
    h('section', { id: 'predictions' },
      h('h2', {}, 'Next-token predictions'),
      h('div', { id: 'probe-status' }),
      h('table', { id: 'top-k', class: 'scroll-x' },
        h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'token'), h('th', { class: 'num' }, 'probability'))),
        h('tbody', {}),
      ),
    ),
    h('vscode-divider', {}),
    h('section', { id: 'trace' },
      h('h2', {}, 'Causal trace'),
      h('p', { class: 'note' }, 'Corrupts the subject tokens with noise, then restores each (token, layer) state of the clean run and measures how much of the answer comes back (ROME, Meng et al. 2022).'),
      h('div', { class: 'row' },
        h('label', {}, 'Answer', h('input', { id: 'trace-target', type: 'text', placeholder: "the model's top-1", size: 16 })),
        h('label', {}, 'Window', h('input', { id: 'trace-window', type: 'number', min: 1, value: 10, style: 'width:5em' })),
        h('label', {}, 'Samples', h('input', { id: 'trace-samples', type: 'number', min: 1, max: 1000, value: 10, style: 'width:5em' })),
        h('label', {}, '\u00a0', h('button', { id: 'trace-run', type: 'button' }, 'Trace')),
      ),
      h('div', { id: 'trace-status' }),
      h('p', { id: 'trace-summary', class: 'note' }),
      h('div', { id: 'trace-heatmaps', class: 'grid-3' }),
      h('div', { id: 'trace-effect' }),
      h('details', { id: 'trace-tables' }, h('summary', {}, 'Scores as tables')),
    ),
    h('vscode-divider', {}),
    h('section', { id: 'edit' },
      h('h2', {}, 'Edit'),
      h('div', { class: 'row' },
        h('label', {}, 'Method', h('select', { id: 'edit-method' }, ...EDIT_METHOD_NAMES.map((m) => h('option', { value: m }, METHOD_TITLES[m] ?? m)))),
        h('label', {}, 'Problem', h('select', { id: 'edit-problem' }, ...EDITING_PROBLEM_NAMES.map((p) => h('option', { value: p }, p)))),
        h('label', {}, 'Layer', h('select', { id: 'edit-layer' }, h('option', { value: '' }, 'method preset'))),
      ),
      h('label', { style: 'display:flex' }, 'Hyperparameters (JSON, the reference implementation’s snake_case keys; optional)',
        h('textarea', { id: 'edit-hparams', rows: 3, placeholder: '{ "v_num_grad_steps": 20 }', spellcheck: 'false' }),
      ),
      h('div', { class: 'row' }, h('button', { id: 'edit-run', type: 'button' }, 'Apply edit')),
      h('p', { id: 'edit-note', class: 'note', hidden: true }),
      h('div', { id: 'edit-status' }),
      h('div', { id: 'edit-result', hidden: true }),
    ),
  );
}
