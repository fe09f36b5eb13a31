/** Part (a): two saved edit runs side by side — what each edit was, its numbers (right − left), and its predictions after. */
import type { EditResultDto, MetricProtocolDto } from '../../src/protocol/dto';
import type { EditRunChoice, EditSide } from '../../src/protocol/panels/compare';
import { append, byId, clear, h } from '../shared/dom';
import { availableProtocols, compareRows, fixed3, PROTOCOL_DESCRIPTIONS, prob } from '../shared/editData';
import { protocolSelect } from '../shared/protocolScores';

/** The protocol the comparison's scores are under; kept while the user picks other edits. */
let protocol: MetricProtocolDto = 'hase-normalized';

export function fillPickers(runs: readonly EditRunChoice[], left: string | undefined, right: string | undefined): void {
  for (const [id, chosen] of [['compare-left', left], ['compare-right', right]] as const) {
    const select = byId<HTMLSelectElement>(id);
    clear(select);
    select.add(h('option', { value: '' }, runs.length ? '— choose a saved edit —' : 'no saved edit runs yet'));
    for (const r of runs) select.add(h('option', { value: r.file }, `${r.label} · ${new Date(r.created).toLocaleString()}`));
    select.value = chosen && runs.some((r) => r.file === chosen) ? chosen : '';
    select.disabled = runs.length === 0;
  }
}

const describe = (s: EditSide): string => {
  const e = s.data.edit;
  return `${e.method.toUpperCase()} at layer${e.layers.length > 1 ? 's' : ''} ${e.layers.join(', ')}, ${e.problem}: "${s.data.fact.subject}" → "${e.target}"`;
};

function predictions(e: EditResultDto): HTMLElement {
  const preds = e.details?.predictions ?? [];
  if (preds.length === 0) return h('p', { class: 'note' }, 'No predictions saved with this edit.');
  return h('table', { class: 'predictions' },
    h('thead', {}, h('tr', {}, h('th', {}, 'prompt'), h('th', {}, 'top after'), h('th', { class: 'num' }, 'p(new) after'))),
    h('tbody', {}, ...preds.map((p) => h('tr', { 'data-kind': p.kind }, h('td', {}, h('span', { class: 'muted' }, `${p.kind}: `), p.prompt), h('td', { class: 'nowrap' }, `"${p.after.top}"`), h('td', { class: 'num' }, prob(p.after.pNew))))),
  );
}

export function renderComparison(left: EditSide | undefined, right: EditSide | undefined): void {
  const box = byId('compare-result');
  clear(box);
  if (!left && !right) return append(box, h('p', { class: 'note' }, 'Choose two edits.'));
  const sides = [left, right];
  append(box, h('div', { class: 'grid-2' }, ...sides.map((s, i) => h('div', { 'data-side': i === 0 ? 'left' : 'right' }, s ? h('p', {}, h('strong', {}, describe(s)), h('br', {}), h('span', { class: 'muted' }, `${s.data.model?.name ?? 'model ?'} · edit ${s.data.edit.id} · ${new Date(s.created).toLocaleString()}`)) : h('p', { class: 'note' }, '—')))));
  if (left && right) {
    // Only protocols both results have can be compared.
    const shared = availableProtocols(left.data.edit).filter((p) => availableProtocols(right.data.edit).includes(p));
    if (!shared.includes(protocol)) protocol = shared[0] ?? 'hase-normalized';
    const rows = compareRows(left.data.edit, right.data.edit, protocol);
    append(box,
      protocolSelect('compare-protocol', shared, protocol, (p) => ((protocol = p), renderComparison(left, right))),
      h('p', { class: 'note', id: 'compare-protocol-description' }, `Scores under ${protocol}: ${PROTOCOL_DESCRIPTIONS[protocol]}.`),
    );
    append(box, h('table', { id: 'compare-table', 'data-protocol': protocol },
      h('thead', {}, h('tr', {}, h('th', {}, 'metric'), h('th', { class: 'num' }, 'left'), h('th', { class: 'num' }, 'right'), h('th', { class: 'num' }, 'right − left'))),
      h('tbody', {}, ...rows.map((r) => h('tr', {},
        h('th', { scope: 'row' }, r.label),
        h('td', { class: 'num', 'data-side': 'left', 'data-metric': r.key, 'data-value': r.left }, fixed3(r.left)),
        h('td', { class: 'num', 'data-side': 'right', 'data-metric': r.key, 'data-value': r.right }, fixed3(r.right)),
        h('td', { class: 'num', 'data-side': 'diff', 'data-metric': r.key, 'data-value': r.diff }, (r.diff > 0 ? '+' : '') + fixed3(r.diff)),
      ))),
    ));
  }
  append(box, h('h3', {}, 'Predictions after each edit'), h('div', { class: 'grid-2' }, ...sides.map((s) => (s ? predictions(s.data.edit) : h('div', {})))));
}
