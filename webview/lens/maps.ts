/**
 * The two maps as tables (layers down, the prompt's tokens across; cells coloured, so a table is the
 * heatmap and its numbers at once): `table#lens-map-top` with `td[data-l][data-t]` (data-token,
 * data-id, data-prob of the top-1 token; the top-K in its title), and `table#lens-map-answer` with
 * `td[data-l][data-t]` (data-rank, data-prob). Clicking a cell (or Enter on it) shows its top-K in
 * `table#lens-cell-top`.
 */
import type { LensResultDto } from '../../src/protocol/panels/lens';
import { luminance } from '../shared/colour';
import { append, clear, h } from '../shared/dom';
import { shownToken } from '../shared/gridData';
import { answerColour, answerText, cellToken, cellTooltip, percent, probShort, quotedToken, topColour, topOf } from './data';

const textOn = (background: string): string => (luminance(background) > 0.35 ? '#1e1e1e' : '#ffffff');

function headRow(r: LensResultDto): HTMLTableRowElement {
  return h('tr', {}, h('th', { scope: 'col' }, 'layer'), ...r.tokens.map((tok, t) => h('th', { scope: 'col', 'data-t': t, title: `position ${t}: ${quotedToken(tok)} (id ${r.ids[t]})` }, h('code', { class: 'token' }, cellToken(tok, 12)))));
}

/** A focusable, clickable cell that selects (l, t). */
function cell(l: number, t: number, background: string, attrs: Record<string, string | number>, title: string, onPick: (l: number, t: number) => void, ...children: Array<Node | string>): HTMLTableCellElement {
  const td = h('td', { ...attrs, 'data-l': l, 'data-t': t, tabindex: 0, title, style: `background:${background};color:${textOn(background)}` }, ...children);
  td.addEventListener('click', () => onPick(l, t));
  td.addEventListener('keydown', (e: KeyboardEvent) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onPick(l, t);
    }
  });
  return td;
}

export function topMap(r: LensResultDto, k: number, onPick: (l: number, t: number) => void): HTMLTableElement {
  const body = h('tbody', {});
  r.layers.forEach(({ layer, positions }, l) => {
    const row = h('tr', { 'data-layer': layer }, h('th', { scope: 'row', class: 'num' }, layer));
    positions.forEach((p, t) => {
      const best = p.top[0];
      row.append(
        cell(l, t, topColour(best.prob), { 'data-token': best.token, 'data-id': best.id, 'data-prob': best.prob }, cellTooltip(r, l, t, k), onPick,
          h('span', { class: 'tok' }, cellToken(best.token)), h('span', { class: 'p' }, percent(best.prob))),
      );
    });
    body.append(row);
  });
  return h('table', { id: 'lens-map-top', class: 'lens-map', 'data-map': 'top' }, h('caption', {}, 'Top-1 token per layer (rows) and position (columns); colour: its probability'), h('thead', {}, headRow(r)), body);
}

export function answerMap(r: LensResultDto, k: number, onPick: (l: number, t: number) => void): HTMLTableElement {
  const body = h('tbody', {});
  r.layers.forEach(({ layer, positions }, l) => {
    const row = h('tr', { 'data-layer': layer }, h('th', { scope: 'row', class: 'num' }, layer));
    positions.forEach((p, t) => {
      const a = p.answer!;
      row.append(cell(l, t, answerColour(a.prob), { 'data-rank': a.rank, 'data-prob': a.prob }, cellTooltip(r, l, t, k), onPick, answerText(a)));
    });
    body.append(row);
  });
  const caption = `Rank and probability of ${quotedToken(r.answer!.token)} per layer and position; colour: log₁₀ probability (10⁻⁶ → 1)`;
  return h('table', { id: 'lens-map-answer', class: 'lens-map', 'data-map': 'answer' }, h('caption', {}, caption), h('thead', {}, headRow(r)), body);
}

/** The picked cell's top-K as a table (`table#lens-cell-top`, rows `tr[data-token][data-prob]`). */
export function renderDetail(box: HTMLElement, r: LensResultDto, l: number, t: number, k: number): void {
  clear(box);
  const cellData = r.layers[l].positions[t];
  const rows = topOf(r, l, t, k).map((c, i) =>
    h('tr', { 'data-token': c.token, 'data-prob': c.prob }, h('td', { class: 'num' }, i + 1), h('td', {}, h('code', { class: 'token' }, quotedToken(shownToken(c.token)))), h('td', { class: 'num' }, percent(c.prob)), h('td', { class: 'num' }, c.logprob.toFixed(3))),
  );
  append(
    box,
    h('h3', {}, `Layer ${r.layers[l].layer}, position ${t} `, h('code', { class: 'token' }, quotedToken(shownToken(r.tokens[t])))),
    h('table', { id: 'lens-cell-top', 'data-l': l, 'data-t': t },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'token'), h('th', { class: 'num' }, 'probability'), h('th', { class: 'num' }, 'log-prob'))),
      h('tbody', {}, ...rows),
    ),
    cellData.answer ? h('p', { class: 'note' }, `Answer ${quotedToken(cellData.answer.token)}: rank ${cellData.answer.rank}, p = ${probShort(cellData.answer.prob)} (log-prob ${cellData.answer.logprob.toFixed(3)}).`) : null,
  );
  box.hidden = false;
}
