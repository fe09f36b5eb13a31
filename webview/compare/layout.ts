/** The Compare panel's static skeleton. Ids are the DOM contract the e2e tests drive; keep them stable. */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-divider/index.js';
import type { EditMethodDto } from '../../src/protocol/dto';
import { EDITING_PROBLEM_NAMES } from '../../src/protocol/panels/fact';
import { h } from '../shared/dom';
import { SWEEP_METRICS } from '../shared/sweepData';

export function buildLayout(root: HTMLElement): void {
  root.append(
    h('header', {},
      h('h1', { id: 'title' }, 'Compare'),
      h('div', { class: 'row' }, h('vscode-badge', { id: 'model-badge', hidden: true }), h('span', { id: 'saved-note', class: 'muted', hidden: true })),
    ),
    h('div', { id: 'error', role: 'alert', hidden: true }),
    h('section', { id: 'edits' },
      h('h2', {}, 'Two edits side by side'),
      h('p', { class: 'note' }, 'Pick two saved edit runs (every edit made in a Fact panel is saved under .locus/runs/).'),
      h('div', { class: 'row' },
        h('label', {}, 'Left', h('select', { id: 'compare-left' })),
        h('label', {}, 'Right', h('select', { id: 'compare-right' })),
      ),
      h('div', { id: 'compare-result' }),
    ),
    h('vscode-divider', {}),
    h('section', { id: 'sweep' },
      h('h2', {}, 'Layer sweep'),
      h('p', { class: 'note' }, 'Edits one fact at every layer (each edit measured, then reverted) and draws edit success per layer over the fact’s MLP tracing effect — the seed paper’s question, for one fact.'),
      h('div', { class: 'row' },
        h('label', {}, 'Fact (case id)', h('input', { id: 'sweep-case', type: 'number', min: 0, list: 'sweep-cases', style: 'width:9em' })),
        h('datalist', { id: 'sweep-cases' }),
        // Filled with the loaded model's methods (fillSweepMethods).
        h('fieldset', { id: 'sweep-methods', class: 'row' }, h('legend', {}, 'Methods')),
        h('label', {}, 'Problem', h('select', { id: 'sweep-problem' }, ...EDITING_PROBLEM_NAMES.map((p) => h('option', { value: p }, p)))),
        h('label', {}, 'Layers', h('input', { id: 'sweep-layers', type: 'text', placeholder: 'all', size: 10 })),
        h('label', {}, '\u00a0', h('button', { id: 'sweep-run', type: 'button' }, 'Run sweep')),
      ),
      h('p', { id: 'sweep-fact', class: 'muted' }),
      h('div', { id: 'sweep-status' }),
      h('div', { class: 'row' }, h('label', {}, 'Metric', h('select', { id: 'sweep-metric' }, ...SWEEP_METRICS.map((m) => h('option', { value: m }, `${m} score`))))),
      h('div', { id: 'sweep-chart' }),
      h('div', { class: 'scroll-x' }, h('table', { id: 'sweep-table' })),
    ),
  );
}

/**
 * One checkbox per method of the loaded model (the worker's registry, ModelSummary.methods), labelled
 * with its id as the sweep's plot is; checked boxes stay checked, and the first method is checked when
 * none is.
 */
export function fillSweepMethods(methods: readonly EditMethodDto[]): void {
  const set = document.getElementById('sweep-methods')!;
  const checked = new Set([...set.querySelectorAll<HTMLInputElement>('input[name="sweep-method"]')].filter((b) => b.checked).map((b) => b.value));
  const keep = methods.some((m) => checked.has(m.id));
  const boxes = methods.map((m, i) => h('label', { class: 'inline', title: `${m.label}: ${m.summary}` }, h('input', { type: 'checkbox', name: 'sweep-method', value: m.id, checked: keep ? checked.has(m.id) : i === 0 }), m.id));
  set.replaceChildren(set.querySelector('legend') ?? h('legend', {}, 'Methods'), ...boxes);
}
