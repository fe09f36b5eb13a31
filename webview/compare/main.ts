/**
 * The Compare panel (webview side): (a) two saved edit runs side by side, (b) a layer sweep of one fact
 * over its tracing effect. Same rules as the Fact panel: the host re-sends everything on `panel/ready`,
 * every job ends in `job/done` or `job/error`, and both reset the status line.
 */
import '../shared/base.css';
import './compare.css';
import type { EditMethod, EditingProblem } from '../../src/protocol/dto';
import type { CaseChoice, CompareFromWebview, CompareToWebview, EditSide, SweepView } from '../../src/protocol/panels/compare';
import type { ModelSummary } from '../../src/protocol/panels/fact';
import { afterPaint, byId, clear, h } from '../shared/dom';
import { clearError, showError } from '../shared/errors';
import { JobStatus } from '../shared/status';
import type { SweepMetric } from '../shared/sweepData';
import { parseLayers } from '../shared/sweepData';
import { warmUpCharts } from '../shared/charts';
import { onThemeChange, themeColours } from '../shared/theme';
import { newRequestId, panelChannel } from '../shared/vscodeApi';
import { fillPickers, renderComparison } from './edits';
import { buildLayout, fillSweepMethods } from './layout';
import { SweepSection } from './sweep';

interface UiState {
  readonly metric?: string;
  readonly caseId?: string;
  readonly methods?: readonly string[];
  readonly problem?: string;
  readonly layers?: string;
}

const channel = panelChannel<CompareToWebview, CompareFromWebview>();
buildLayout(byId('root'));

const view: { model: ModelSummary | null; cases: readonly CaseChoice[]; left?: EditSide; right?: EditSide; sweep?: SweepView; saved: boolean; blocked: boolean } = {
  model: null,
  cases: [],
  saved: false,
  blocked: true,
};

const caseInput = byId<HTMLInputElement>('sweep-case');
const problem = byId<HTMLSelectElement>('sweep-problem');
const layersInput = byId<HTMLInputElement>('sweep-layers');
const metricSelect = byId<HTMLSelectElement>('sweep-metric');
const methodBoxes = (): HTMLInputElement[] => [...document.querySelectorAll<HTMLInputElement>('input[name="sweep-method"]')];

const status = new JobStatus(byId('sweep-status'), 'sweep-cancel', (requestId) => channel.post({ type: 'job/cancel', requestId }));
const sweepSection = new SweepSection((m) => channel.post(m), () => metricSelect.value as SweepMetric);

const timed = (what: string, receivedAt: number): void => afterPaint(() => channel.post({ type: 'render/timing', what, ms: Math.round((performance.now() - receivedAt) * 10) / 10 }));

function saveUi(): void {
  channel.saveState<UiState>({ metric: metricSelect.value, caseId: caseInput.value, methods: methodBoxes().filter((b) => b.checked).map((b) => b.value), problem: problem.value, layers: layersInput.value });
}

function restoreUi(): void {
  const ui = channel.state<UiState>();
  if (ui.metric) metricSelect.value = ui.metric;
  if (ui.caseId) caseInput.value = ui.caseId;
  if (ui.methods) for (const b of methodBoxes()) b.checked = ui.methods.includes(b.value);
  if (ui.problem) problem.value = ui.problem;
  if (ui.layers !== undefined) layersInput.value = ui.layers;
}

function refreshControls(): void {
  const enabled = !view.blocked && !view.saved;
  byId<HTMLButtonElement>('sweep-run').disabled = !enabled || status.running;
  for (const el of [caseInput, problem, layersInput, ...methodBoxes()]) el.disabled = !enabled || status.running;
  const c = view.cases.find((x) => String(x.caseId) === caseInput.value.trim());
  if (!view.sweep) byId('sweep-fact').textContent = c ? `"${c.prompt.replace('{}', c.subject)}"` : caseInput.value.trim() === '' ? 'Choose a fact by case id.' : `No case ${caseInput.value} in the loaded dataset.`;
}

function fillCases(cases: readonly CaseChoice[]): void {
  const list = byId('sweep-cases');
  clear(list);
  for (const c of cases) list.append(h('option', { value: c.caseId }, `${c.subject}: ${c.prompt.replace('{}', c.subject)}`));
}

byId('sweep-run').addEventListener('click', () => {
  clearError();
  const caseId = Number(caseInput.value.trim());
  const methods = methodBoxes().filter((b) => b.checked).map((b) => b.value as EditMethod);
  let layers: number[] | undefined;
  try {
    if (caseInput.value.trim() === '' || !view.cases.some((c) => c.caseId === caseId)) throw new Error(`Choose a fact of the loaded dataset by its case id${caseInput.value.trim() ? ` (there is no case ${caseInput.value.trim()})` : ''}.`);
    if (methods.length === 0) throw new Error('Choose at least one method.');
    layers = parseLayers(layersInput.value, view.model?.n_layers);
  } catch (e) {
    return showError((e as Error).message);
  }
  const requestId = newRequestId('sweep');
  status.start(requestId, 'Sweeping…');
  refreshControls();
  channel.post({ type: 'sweep/start', requestId, form: { caseId, methods, problem: problem.value as EditingProblem, ...(layers ? { layers } : {}) } });
});

for (const side of ['left', 'right'] as const) {
  byId<HTMLSelectElement>(`compare-${side}`).addEventListener('change', (e) => {
    const file = (e.target as HTMLSelectElement).value;
    if (file === '') {
      view[side] = undefined;
      renderComparison(view.left, view.right);
    } else channel.post({ type: 'compare/pick', side, file });
  });
}
// The method boxes come and go with the model (fillSweepMethods): their changes bubble to the fieldset.
for (const el of [caseInput, problem, layersInput, byId('sweep-methods')]) el.addEventListener('change', () => (saveUi(), refreshControls()));
caseInput.addEventListener('input', refreshControls);
metricSelect.addEventListener('change', () => (saveUi(), sweepSection.redraw()));

channel.listen((m, receivedAt) => {
  switch (m.type) {
    case 'compare/init': {
      Object.assign(view, { model: m.model, cases: m.cases, left: m.left, right: m.right, sweep: m.sweep, saved: m.saved !== undefined, blocked: m.error !== undefined });
      fillSweepMethods(m.model?.methods ?? []);
      const badge = byId('model-badge');
      badge.textContent = m.model ? `${m.model.name} · ${m.model.n_layers} layers` : '';
      badge.hidden = !m.model;
      const note = byId('saved-note');
      note.textContent = m.saved ? `Saved sweep of ${new Date(m.saved.created).toLocaleString()} (${m.saved.file}).` : '';
      note.hidden = !m.saved;
      restoreUi();
      if (m.caseId !== undefined) caseInput.value = String(m.caseId);
      else if (m.sweep?.sweep.caseId !== undefined) caseInput.value = String(m.sweep.sweep.caseId);
      fillCases(m.cases);
      fillPickers(m.runs, m.left?.file, m.right?.file);
      renderComparison(m.left, m.right);
      sweepSection.render(m.sweep);
      if (m.running.sweep && status.requestId !== m.running.sweep) status.start(m.running.sweep, 'Sweeping…');
      if (m.error) showError(m.error);
      else clearError();
      refreshControls();
      return timed('compare init', receivedAt);
    }
    case 'compare/side':
      view[m.side] = m.edit ?? undefined;
      if (m.error) showError(m.error);
      renderComparison(view.left, view.right);
      return timed('compare side', receivedAt);
    case 'sweep/result':
      view.sweep = m.result;
      sweepSection.render(m.result);
      if (status.requestId === m.requestId) status.finish('done', `${m.result.sweep.points.length} edits measured.`);
      refreshControls();
      return timed('sweep', receivedAt);
    case 'job/progress':
      if (status.requestId === m.requestId) status.progress(m.done, m.total, m.message);
      return;
    case 'job/error':
      if (!m.cancelled) showError(m.message);
      if (status.requestId === m.requestId) status.finish(m.cancelled ? 'idle' : 'error', m.cancelled ? 'Cancelled.' : 'Failed (see the message above).');
      return refreshControls();
    case 'job/done':
      if (status.requestId === m.requestId) status.finish('done', '');
      return refreshControls();
  }
});

onThemeChange(() => sweepSection.redraw());
warmUpCharts(themeColours());
refreshControls();
channel.ready();
