/**
 * The edit section: the form (method, problem, layer, hyperparameters JSON) and the result — the
 * metrics before/after (`table#edit-metrics`, cells td[data-metric][data-when]), ROME's success
 * metrics, the predictions on the rewrite / paraphrase / neighborhood prompts, the generation before
 * and after, and the applied edit's id with Revert. Above them, the pre-flight safety checks
 * (`table#edit-safety`, rows tr[data-check][data-flagged]); a flagged edit comes back not applied, with
 * "Apply anyway" (`#edit-apply-anyway`), which runs the same form again with `force`.
 */
import type { EditingProblem, EditMethod, EditResultDto, EditSafetyDto } from '../../src/protocol/dto';
import type { EditFormValues, FactView, SaveNote } from '../../src/protocol/panels/fact';
import { fileSlug } from '../shared/csv';
import { append, byId, clear, h } from '../shared/dom';
import type { MetricRow } from '../shared/editData';
import { editCsv, editMetricRows, fixed3, prob, romeMetricRows } from '../shared/editData';
import { protocolScoresSection } from '../shared/protocolScores';
import type { ExportPost } from '../shared/exporting';
import { exportCsv } from '../shared/exporting';

export interface EditFormState {
  readonly method?: string;
  readonly problem?: string;
  readonly layer?: string;
  readonly hparams?: string;
}

const method = (): HTMLSelectElement => byId<HTMLSelectElement>('edit-method');
const problem = (): HTMLSelectElement => byId<HTMLSelectElement>('edit-problem');
const layer = (): HTMLSelectElement => byId<HTMLSelectElement>('edit-layer');
const hparams = (): HTMLTextAreaElement => byId<HTMLTextAreaElement>('edit-hparams');

/** Layer choices 0..n-1 after "method preset"; keeps the current choice when it still exists. */
export function fillLayers(nLayers: number | undefined): void {
  const select = layer();
  const current = select.value;
  while (select.options.length > 1) select.remove(1);
  for (let l = 0; l < (nLayers ?? 0); l++) select.add(h('option', { value: l }, `layer ${l}`));
  select.value = [...select.options].some((o) => o.value === current) ? current : '';
}

export function formState(): EditFormState {
  return { method: method().value, problem: problem().value, layer: layer().value, hparams: hparams().value };
}

export function restoreForm(s: EditFormState): void {
  const set = (el: HTMLSelectElement, v: string | undefined): void => {
    if (v !== undefined && [...el.options].some((o) => o.value === v)) el.value = v;
  };
  set(method(), s.method);
  set(problem(), s.problem);
  set(layer(), s.layer);
  if (s.hparams !== undefined) hparams().value = s.hparams;
}

/** Set by "Apply anyway" for the one run it starts (the Run button's own path, with `force`). */
let forceNext = false;

/** The form as a request; throws a message for the error box when the hyperparameters are not a JSON object. */
export function readForm(): EditFormValues {
  const text = hparams().value.trim();
  let parsed: Record<string, unknown> | undefined;
  if (text !== '') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new Error(`Hyperparameters are not valid JSON: ${(e as Error).message}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('Hyperparameters must be a JSON object, e.g. { "v_num_grad_steps": 20 }');
    parsed = value as Record<string, unknown>;
  }
  const l = layer().value;
  const force = forceNext;
  forceNext = false;
  return { method: method().value as EditMethod, problem: problem().value as EditingProblem, ...(l === '' ? {} : { layer: Number(l) }), ...(parsed ? { hparams: parsed } : {}), ...(force ? { force: true } : {}) };
}

/** Turns the form on or off; a fact without target_new (a free prompt) says why. */
export function setFormEnabled(enabled: boolean, running: boolean, fact: FactView | null, saved: boolean): void {
  for (const el of [method(), problem(), layer(), hparams()]) el.disabled = !enabled;
  byId<HTMLButtonElement>('edit-run').disabled = !enabled || running;
  const note = byId('edit-note');
  const why = saved ? 'A saved run: open the fact from the Facts view to edit again.' : fact && !fact.canEdit ? (fact.editNote ?? 'This fact cannot be edited.') : '';
  note.textContent = why;
  note.hidden = why === '';
}

function metricCell(row: MetricRow, when: 'before' | 'after'): HTMLTableCellElement {
  const v = when === 'before' ? row.before : row.after;
  return h('td', { class: 'num', 'data-metric': row.key, 'data-when': when, 'data-value': v ?? '' }, fixed3(v));
}

function metricsTable(id: string, caption: string, rows: MetricRow[], withBefore: boolean): HTMLTableElement {
  return h('table', { id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, h('th', {}, 'metric'), withBefore ? h('th', { class: 'num' }, 'before') : null, h('th', { class: 'num' }, 'after'))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.label), withBefore ? metricCell(r, 'before') : null, metricCell(r, 'after')))),
  );
}

function predictionsTable(e: EditResultDto): HTMLTableElement | null {
  const preds = e.details?.predictions ?? [];
  if (preds.length === 0) return null;
  const arrow = (a: string, b: string): HTMLElement => h('span', {}, a, h('span', { class: 'muted' }, ' → '), b);
  return h('table', { id: 'edit-predictions' },
    h('thead', {}, h('tr', {}, h('th', {}, 'prompt'), h('th', {}, 'top token before → after'), h('th', { class: 'num' }, 'p(new) before → after'), h('th', { class: 'num' }, 'p(true) before → after'))),
    h('tbody', {}, ...preds.map((p) =>
      h('tr', { 'data-kind': p.kind },
        h('td', {}, h('span', { class: 'muted' }, `${p.kind}: `), p.prompt),
        h('td', { class: 'nowrap', 'data-col': 'top' }, arrow(`"${p.before.top}" ${prob(p.before.topProb)}`, `"${p.after.top}" ${prob(p.after.topProb)}`)),
        h('td', { class: 'num', 'data-col': 'p-new', 'data-before': p.before.pNew, 'data-after': p.after.pNew }, arrow(prob(p.before.pNew), prob(p.after.pNew))),
        h('td', { class: 'num', 'data-col': 'p-true', 'data-before': p.before.pTrue, 'data-after': p.after.pTrue }, arrow(prob(p.before.pTrue), prob(p.after.pTrue))),
      ),
    )),
  );
}

const checkValue = (v: number): string => (v >= 1e6 ? '≫' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toPrecision(3));

/** Which part of the edit a check concerns. */
const checkSubject = (c: EditSafetyDto['checks'][number]): string => (c.layer !== undefined ? `layer ${c.layer}` : c.param ?? (c.request !== undefined ? `request ${c.request}` : 'model'));

/** The checks table, flagged rows highlighted, and — for an edit that was not applied — why, and "Apply anyway". */
function safetySection(e: EditResultDto): HTMLElement | null {
  const safety = e.safety;
  if (!safety) return null;
  const apply = h('button', { id: 'edit-apply-anyway', type: 'button' }, 'Apply anyway');
  apply.addEventListener('click', () => {
    forceNext = true;
    byId<HTMLButtonElement>('edit-run').click();
  });
  const held = e.applied === false;
  return h('div', { id: 'edit-safety-box', class: safety.flagged ? 'flagged' : '' },
    held
      ? h('p', { id: 'edit-not-applied', class: 'warning' }, 'The pre-flight checks flagged this edit, so it was NOT applied to the model. The scores below are what it would do. ', apply)
      : h('p', { class: 'muted' }, safety.flagged ? 'The pre-flight checks flagged this edit; it was applied because you asked.' : 'Pre-flight checks: nothing flagged.'),
    h('table', { id: 'edit-safety' },
      h('caption', {}, 'Pre-flight safety checks (thresholds: README “Edit safety”)'),
      h('thead', {}, h('tr', {}, h('th', {}, 'check'), h('th', {}, 'on'), h('th', { class: 'num' }, 'value'), h('th', { class: 'num' }, 'threshold'), h('th', {}, ''), h('th', {}, 'numbers'))),
      h('tbody', {}, ...safety.checks.map((c) =>
        h('tr', { 'data-check': c.name, 'data-flagged': String(c.flagged), class: c.flagged ? 'flagged' : '' },
          h('th', { scope: 'row' }, c.name),
          h('td', {}, checkSubject(c)),
          h('td', { class: 'num', 'data-value': c.value }, checkValue(c.value)),
          h('td', { class: 'num' }, `${c.flaggedWhen === 'below' ? '≥' : '≤'} ${c.threshold}`),
          h('td', {}, c.flagged ? 'flagged' : 'ok'),
          h('td', { class: 'muted' }, c.note),
        ),
      )),
    ),
  );
}

export function renderEdit(e: (EditResultDto & SaveNote) | undefined, applied: readonly string[], subject: string, post: ExportPost, onRevert: (id: string) => void): void {
  const box = byId('edit-result');
  clear(box);
  box.hidden = !e;
  if (!e) return;
  const revert = h('button', { id: 'edit-revert', type: 'button', class: 'secondary' }, 'Revert');
  revert.addEventListener('click', () => onRevert(e.id));
  const csvButton = h('vscode-button', { secondary: true, id: 'edit-csv' }, 'Export CSV');
  csvButton.addEventListener('click', () => exportCsv(post, editCsv(e), `${fileSlug(subject)}-edit-${e.method}`));
  const gen = e.details?.generation;
  append(
    box,
    safetySection(e),
    h('p', { class: 'row' }, 'Edit ', h('code', { id: 'edit-id' }, e.applied === false ? '(not applied)' : e.id), ` (${e.method.toUpperCase()}, layer${e.layers.length > 1 ? 's' : ''} ${e.layers.join(', ')}, ${e.problem}, target "${e.target}", ${e.seconds.toFixed(1)} s) `, revert, h('span', { id: 'edit-applied-note', class: 'muted' })),
    h('div', { class: 'grid-2' },
      metricsTable('edit-metrics', 'Scores (Hase et al.; normalised by the pre-edit probabilities, so defined after the edit)', editMetricRows(e), true),
      metricsTable('edit-rome', 'ROME’s CounterFact metrics', romeMetricRows(e), false),
    ),
    protocolScoresSection(e),
    predictionsTable(e) ?? h('p', { class: 'note' }, 'No predictions (the edit ran without details).'),
    gen
      ? h('div', { id: 'edit-generation' },
          h('h3', {}, 'Generation'),
          h('p', { class: 'muted' }, gen.prompt),
          h('div', { class: 'grid-2' },
            h('div', {}, h('h4', {}, 'before'), h('p', { id: 'edit-gen-before', class: 'generation' }, gen.prompt, h('strong', {}, gen.before))),
            h('div', {}, h('h4', {}, 'after'), h('p', { id: 'edit-gen-after', class: 'generation' }, gen.prompt, h('strong', {}, gen.after))),
          ),
        )
      : null,
    e.deltas.length ? h('p', { class: 'note' }, 'Weight changes: ', e.deltas.map((d) => `${d.param} ‖Δ‖F = ${d.frobenius.toPrecision(3)}`).join('; ')) : null,
    ...e.notes.map((n) => h('p', { class: 'note' }, n)),
    h('p', { class: 'note' }, e.savedAs ? `Saved to ${e.savedAs}.` : (e.note ?? '')),
    h('div', { class: 'actions' }, csvButton),
  );
  if (e.applied === false) revert.hidden = true;
  else setApplied(e.id, applied, false);
}

/** Revert is possible while the worker still holds the edit. */
export function setApplied(id: string | undefined, applied: readonly string[], busy: boolean): void {
  const button = document.getElementById('edit-revert') as HTMLButtonElement | null;
  const note = document.getElementById('edit-applied-note');
  // A held edit (flagged, not applied) has no id: its own message says so (safetySection).
  if (!button || !note || id === undefined || id === '') return;
  const live = applied.includes(id);
  button.disabled = !live || busy;
  note.textContent = live ? 'applied to the loaded model' : 'not applied (reverted, or the worker was restarted)';
}
