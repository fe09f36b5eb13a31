/**
 * "Scores by protocol" for the edit panels: which protocol a score is under (a label on every row and
 * a description), with a select to switch between the protocols the result has (issue 19 item 6).
 */
import type { CaseOutcomeDto, MetricProtocolDto } from '../../src/protocol/dto';
import { append, clear, h } from './dom';
import { availableProtocols, fixed3, PROTOCOL_DESCRIPTIONS, protocolScoreRows } from './editData';

/** A select of the result's protocols; calls `onChange` with the one chosen. Disabled when there is only one. */
export function protocolSelect(id: string, protocols: readonly MetricProtocolDto[], chosen: MetricProtocolDto, onChange: (p: MetricProtocolDto) => void): HTMLElement {
  const select = h('select', { id, title: 'the protocol the scores are computed under' }, ...protocols.map((p) => h('option', { value: p, title: PROTOCOL_DESCRIPTIONS[p] }, p)));
  select.value = protocols.includes(chosen) ? chosen : protocols[0];
  select.disabled = protocols.length < 2;
  select.addEventListener('change', () => onChange(select.value as MetricProtocolDto));
  return h('label', { class: 'row' }, 'Protocol ', select);
}

/** The section: a select, the protocol's description, and its four scores (the table re-drawn on change). */
export function protocolScoresSection(e: CaseOutcomeDto, idPrefix = 'edit-protocol'): HTMLElement {
  const protocols = availableProtocols(e);
  const note = h('p', { class: 'note', id: `${idPrefix}-description` });
  const table = h('table', { id: `${idPrefix}-scores` });
  const draw = (p: MetricProtocolDto): void => {
    note.textContent = PROTOCOL_DESCRIPTIONS[p];
    table.dataset.protocol = p;
    clear(table);
    append(table,
      h('thead', {}, h('tr', {}, h('th', {}, 'score'), h('th', { class: 'num' }, 'after'))),
      h('tbody', {}, ...protocolScoreRows(e, p).map((r) => h('tr', {}, h('th', { scope: 'row' }, r.label), h('td', { class: 'num', 'data-metric': r.key, 'data-protocol': p, 'data-value': r.after }, fixed3(r.after))))),
    );
  };
  draw(protocols[0]);
  return h('div', { id: idPrefix }, h('h3', {}, 'Scores by protocol'), protocolSelect(`${idPrefix}-select`, protocols, protocols[0], draw), note, table);
}
