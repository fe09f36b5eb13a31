/**
 * The Fact panel (webview side): renders what the host sends (src/protocol/panels/fact.ts) and turns
 * buttons into job requests. Jobs are keyed by requestId; every job ends in `job/done` or `job/error`,
 * and both reset its status line, so nothing is left spinning. The host re-sends everything on
 * `panel/ready`, so a panel that was hidden (and reloaded) comes back as it was; only the form's
 * values live in the webview's own state.
 */
import '../shared/base.css';
import './fact.css';
import type { EditResultDto, ProbeResultDto } from '../../src/protocol/dto';
import type { FactFromWebview, FactToWebview, FactView, ModelSummary, RetraceView, SaveNote, TraceStreamView, TraceView } from '../../src/protocol/panels/fact';
import type { HostToPanel } from '../../src/protocol/panels';
import { byId, afterPaint } from '../shared/dom';
import { clearError, showError } from '../shared/errors';
import { JobStatus } from '../shared/status';
import { warmUpCharts } from '../shared/charts';
import { onThemeChange, themeColours } from '../shared/theme';
import { newRequestId, panelChannel } from '../shared/vscodeApi';
import type { EditFormState } from './edit';
import { fillMethods } from './methods';
import { fillLayers, formState, readForm, renderEdit, restoreForm, setApplied, setFormEnabled } from './edit';
import { buildLayout } from './layout';
import { RetraceSection } from './retrace';
import { renderFact, renderTopK } from './summary';
import { TraceSection } from './trace';

type JobKind = 'probe' | 'trace' | 'edit' | 'revert';
interface UiState {
  readonly edit?: EditFormState;
  readonly trace?: { target?: string; window?: string; samples?: string; preview?: boolean };
}

const channel = panelChannel<FactToWebview, FactFromWebview>();
buildLayout(byId('root'));

const view: {
  fact: FactView | null;
  model: ModelSummary | null;
  saved?: { file: string; created: string };
  blocked: boolean;
  probe?: ProbeResultDto;
  trace?: TraceView & SaveNote;
  edit?: EditResultDto & SaveNote;
  retrace?: RetraceView;
  applied: readonly string[];
} = { fact: null, model: null, blocked: true, applied: [] };

const jobs = new Map<string, JobKind>();
const cancel = (requestId: string): void => channel.post({ type: 'job/cancel', requestId });
const status: Record<Exclude<JobKind, 'revert'>, JobStatus> = {
  probe: new JobStatus(byId('probe-status'), 'probe-cancel', cancel),
  trace: new JobStatus(byId('trace-status'), 'trace-cancel', cancel),
  edit: new JobStatus(byId('edit-status'), 'edit-cancel', cancel),
};
/** A revert reports on the edit's status line (one thing happens to the edit at a time). */
const statusOf = (kind: JobKind): JobStatus => status[kind === 'revert' ? 'edit' : kind];
const traceSection = new TraceSection((m) => channel.post(m));
const retraceSection = new RetraceSection((m) => channel.post(m));

const traceTarget = byId<HTMLInputElement>('trace-target');
const traceWindow = byId<HTMLInputElement>('trace-window');
const traceSamples = byId<HTMLInputElement>('trace-samples');
const tracePreview = byId<HTMLInputElement>('trace-preview');

function saveUi(): void {
  channel.saveState<UiState>({ edit: formState(), trace: { target: traceTarget.value, window: traceWindow.value, samples: traceSamples.value, preview: tracePreview.checked } });
}

function refreshControls(): void {
  const idle = !view.blocked && !view.saved && view.fact !== null;
  byId<HTMLButtonElement>('trace-run').disabled = !idle || status.trace.running;
  // Re-tracing compares the model with and without the applied edits: it needs one.
  byId<HTMLButtonElement>('retrace-run').disabled = !idle || status.trace.running || view.applied.length === 0;
  for (const el of [traceTarget, traceWindow, traceSamples, tracePreview]) el.disabled = !idle;
  byId<HTMLButtonElement>('trace-lens').disabled = view.blocked || view.saved !== undefined || view.fact === null;
  setFormEnabled(idle && view.fact!.canEdit, status.edit.running, view.fact, view.saved !== undefined);
  setApplied(view.edit?.id, view.saved ? [] : view.applied, status.edit.running);
}

function start(kind: JobKind, text: string, send: (requestId: string) => void): void {
  const requestId = newRequestId(kind);
  jobs.set(requestId, kind);
  clearError();
  statusOf(kind).start(requestId, text);
  refreshControls();
  send(requestId);
}

const timed = (what: string, receivedAt: number): void => afterPaint(() => channel.post({ type: 'render/timing', what, ms: Math.round((performance.now() - receivedAt) * 10) / 10 }));

function startProbe(): void {
  start('probe', 'Reading the next-token distribution…', (requestId) => channel.post({ type: 'probe/start', requestId }));
}

/** The trace form's options, or undefined after showing why they are not valid. */
function traceOptions(): { window?: number; samples?: number; target?: string; preview: boolean } | undefined {
  const positive = (el: HTMLInputElement): number | undefined => (el.value.trim() === '' ? undefined : Number(el.value));
  const window = positive(traceWindow);
  const samples = positive(traceSamples);
  for (const [name, v] of [['Window', window], ['Samples', samples]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) {
      showError(`${name} must be a whole number ≥ 1`);
      return undefined;
    }
  }
  return { window, samples, target: traceTarget.value === '' ? undefined : traceTarget.value, preview: tracePreview.checked };
}

byId('trace-run').addEventListener('click', () => {
  const options = traceOptions();
  if (options) start('trace', 'Tracing…', (requestId) => channel.post({ type: 'trace/start', requestId, options }));
});

byId('retrace-run').addEventListener('click', () => {
  const options = traceOptions();
  if (options) start('trace', 'Re-tracing: the original model, then the edited one…', (requestId) => channel.post({ type: 'retrace/start', requestId, options }));
});

byId('trace-lens').addEventListener('click', () => channel.post({ type: 'lens/open' }));

byId('edit-run').addEventListener('click', () => {
  let form;
  try {
    form = readForm();
  } catch (e) {
    return showError((e as Error).message);
  }
  start('edit', `Computing the ${form.method.toUpperCase()} edit…`, (requestId) => channel.post({ type: 'edit/start', requestId, form }));
});

function revert(id: string): void {
  start('revert', `Reverting ${id}…`, (requestId) => channel.post({ type: 'edit/revert', requestId, id }));
}

for (const id of ['edit-method', 'edit-problem', 'edit-layer', 'edit-hparams', 'trace-target', 'trace-window', 'trace-samples', 'trace-preview']) byId(id).addEventListener('change', saveUi);

/** The last exact trace, or nothing (also what a failed or cancelled trace's preview gives way to). */
function renderTrace(): void {
  if (view.trace && view.fact) traceSection.render(view.trace, view.model, view.fact.subject);
  else traceSection.clear();
}

function renderAll(stream?: TraceStreamView): void {
  renderFact(view.fact, view.model, view.saved);
  renderTopK(view.probe);
  if (stream && view.fact) {
    traceSection.renderPreview(stream.requestId, stream.preview, view.model, view.fact.subject);
    traceSection.applyCells(stream.requestId, stream.cells);
  } else renderTrace();
  if (view.retrace && view.fact) retraceSection.render(view.retrace, view.model, view.fact.subject);
  else retraceSection.clear();
  renderEdit(view.edit, view.applied, view.fact?.subject ?? 'fact', (m) => channel.post(m), revert);
  refreshControls();
}

function onInit(m: Extract<HostToPanel<FactToWebview>, { type: 'fact/init' }>, receivedAt: number): void {
  Object.assign(view, { fact: m.fact, model: m.model, saved: m.saved, blocked: m.error !== undefined, probe: m.probe, trace: m.trace, edit: m.edit, applied: m.applied, retrace: m.retrace });
  fillMethods(m.model?.methods ?? []);
  fillLayers(m.model?.n_layers);
  const ui = channel.state<UiState>();
  if (ui.edit) restoreForm(ui.edit);
  traceTarget.value = ui.trace?.target ?? m.fact?.traceTarget ?? '';
  if (m.model) {
    traceWindow.max = String(m.model.n_layers);
    // ROME's window of 10 is for 48-layer GPT-2 XL; a window must fit the model, and half its depth keeps
    // the MLP/attention grids informative on small models (6 layers → 3, GPT-J's 28 → 10).
    traceWindow.value = String(Math.min(10, Math.ceil(m.model.n_layers / 2)));
  }
  // A window kept from another model (e.g. 4 of GPT-2's 8 layers, now on a 3-layer Llama) would be refused.
  if (ui.trace?.window && (!m.model || Number(ui.trace.window) <= m.model.n_layers)) traceWindow.value = ui.trace.window;
  if (ui.trace?.samples) traceSamples.value = ui.trace.samples;
  if (ui.trace?.preview !== undefined) tracePreview.checked = ui.trace.preview;
  for (const [kind, requestId] of Object.entries(m.running) as Array<[JobKind, string | undefined]>) {
    if (!requestId || statusOf(kind).requestId === requestId) continue;
    jobs.set(requestId, kind);
    statusOf(kind).start(requestId, 'Running…');
  }
  // A trace still running after a reload comes back with its preview and the exact cells so far.
  renderAll(m.traceStream && m.running.trace === m.traceStream.requestId ? m.traceStream : undefined);
  if (m.error) showError(m.error);
  else clearError();
  timed('init', receivedAt);
  if (!m.error && !m.saved && m.fact && !m.probe && !m.running.probe && !status.probe.running) startProbe();
}

function finishJob(requestId: string, state: 'done' | 'error' | 'idle', text: string): void {
  const kind = jobs.get(requestId);
  if (!kind) return;
  jobs.delete(requestId);
  if (statusOf(kind).requestId === requestId) statusOf(kind).finish(state, text);
  // A preview whose trace failed or was cancelled gives way to the last exact trace.
  if (traceSection.previewing === requestId) renderTrace();
  refreshControls();
}

channel.listen((m, receivedAt) => {
  switch (m.type) {
    case 'fact/init':
      return onInit(m, receivedAt);
    case 'probe/result':
      view.probe = m.probe;
      renderTopK(m.probe);
      finishJob(m.requestId, 'done', `The ${m.probe.top.length} most likely next tokens after the prompt's ${m.probe.tokens.length} tokens.`);
      return timed('probe', receivedAt);
    case 'trace/result':
      view.trace = m.trace;
      traceSection.render(m.trace, view.model, view.fact?.subject ?? 'trace');
      finishJob(m.requestId, 'done', `Traced ${m.trace.cells} cells in ${m.trace.seconds.toFixed(1)} s.`);
      return timed('trace', receivedAt);
    case 'trace/preview':
      if (jobs.get(m.requestId) === 'trace' && view.fact) traceSection.renderPreview(m.requestId, m.preview, view.model, view.fact.subject);
      return timed('trace preview', receivedAt);
    case 'trace/cells':
      return traceSection.applyCells(m.requestId, m.cells);
    case 'retrace/result':
      view.retrace = m.retrace;
      retraceSection.render(m.retrace, view.model, view.fact?.subject ?? 'trace');
      finishJob(m.requestId, 'done', `Re-traced ${2 * m.retrace.edited.cells} cells in ${m.retrace.edited.seconds.toFixed(1)} s.`);
      return timed('retrace', receivedAt);
    case 'edit/result':
      view.edit = m.edit;
      view.applied = m.edit.stack.edits.map((e) => e.id);
      renderEdit(m.edit, view.applied, view.fact?.subject ?? 'fact', (msg) => channel.post(msg), revert);
      finishJob(m.requestId, 'done', `${m.edit.applied === false ? 'Not applied: the pre-flight checks flagged it' : `Applied ${m.edit.id}`}; rewrite score ${m.edit.metrics.rewrite.toFixed(3)}.`);
      return timed('edit', receivedAt);
    case 'edit/applied':
      view.applied = m.applied;
      return refreshControls();
    case 'job/progress': {
      const kind = jobs.get(m.requestId);
      if (kind && statusOf(kind).requestId === m.requestId) statusOf(kind).progress(m.done, m.total, m.message);
      return;
    }
    case 'job/error':
      if (!m.cancelled) showError(m.message);
      return finishJob(m.requestId, m.cancelled ? 'idle' : 'error', m.cancelled ? 'Cancelled.' : 'Failed (see the message above).');
    case 'job/done': {
      const kind = jobs.get(m.requestId);
      return finishJob(m.requestId, 'done', kind === 'revert' ? 'Reverted.' : '');
    }
  }
});

onThemeChange(() => {
  traceSection.redraw();
  retraceSection.redraw();
});
warmUpCharts(themeColours());
refreshControls();
channel.ready();
