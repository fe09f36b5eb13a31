/**
 * The Study panel (webview side): renders the analysis the host sends (src/protocol/panels/study.ts)
 * — the R² table, the per-layer curves with 95% bands over the tracing effect, the scatter of edit
 * score vs tracing effect — and turns Reload / Resume into jobs. Every job ends in `job/done` or
 * `job/error`, both of which settle the status line (`#study-status[data-state]`), so nothing is left
 * spinning. Only the chart pickers live in the webview's own state; the data is re-sent on `panel/ready`.
 */
import '../shared/base.css';
import './study.css';
import type { Chart } from 'chart.js';
import type { StudyMetricName, StudyFromWebview, StudyToWebview, StudyView } from '../../src/protocol/panels/study';
import { STUDY_METRIC_NAMES } from '../../src/protocol/panels/study';
import type { HostToPanel } from '../../src/protocol/panels';
import { fileSlug } from '../shared/csv';
import { afterPaint, byId, clear, h } from '../shared/dom';
import { clearError, showError } from '../shared/errors';
import { exportCsv, exportPng } from '../shared/exporting';
import { JobStatus } from '../shared/status';
import { onThemeChange, themeColours } from '../shared/theme';
import { newRequestId, panelChannel } from '../shared/vscodeApi';
import { curvesChart, scatterChart } from './charts';
import { effectName, groupsOf, METRIC_LABELS, metricCurves, perLayerCsv, pointsCsv, progressLine, r2Csv, scatterByLayer, stageOf, summaryLine, tracingCurve } from './data';
import { buildLayout } from './layout';
import { renderLayerTable, renderR2Table } from './tables';

type JobKind = 'reload' | 'resume';
interface UiState {
  readonly problem?: string;
  readonly metric?: StudyMetricName;
  readonly method?: string;
}

const channel = panelChannel<StudyToWebview, StudyFromWebview>();
buildLayout(byId('root'));

let view: StudyView | null = null;
const jobs = new Map<string, JobKind>();
const charts: { curves?: Chart; scatter?: Chart } = {};
const status = new JobStatus(byId('study-status'), 'study-cancel', (requestId) => channel.post({ type: 'job/cancel', requestId }));
const pick = {
  problem: byId<HTMLSelectElement>('pick-problem'),
  metric: byId<HTMLSelectElement>('pick-metric'),
  method: byId<HTMLSelectElement>('pick-method'),
};
const post = (m: Parameters<typeof channel.post>[0]): void => channel.post(m);
const baseName = (): string => fileSlug(view?.summary.name ?? 'study');
const chosenMetric = (): StudyMetricName => (STUDY_METRIC_NAMES.includes(pick.metric.value as StudyMetricName) ? (pick.metric.value as StudyMetricName) : 'rewrite');

function refreshControls(): void {
  const busy = status.running;
  byId<HTMLButtonElement>('study-reload').disabled = busy;
  const resume = byId<HTMLButtonElement>('study-resume');
  const s = view?.summary;
  resume.hidden = !s || s.rows >= s.expected || s.resumeNote !== undefined;
  resume.disabled = busy;
  const note = byId('study-note');
  note.hidden = !(s && s.rows < s.expected && s.resumeNote);
  note.textContent = s?.resumeNote ?? '';
}

/** Fills a picker with `values`, keeping the current (or saved) choice when it is still offered. */
function fillPicker(select: HTMLSelectElement, values: readonly string[], wanted: string | undefined): void {
  const keep = wanted !== undefined && values.includes(wanted) ? wanted : values[0];
  clear(select);
  for (const v of values) select.append(h('option', { value: v }, v));
  if (keep !== undefined) select.value = keep;
}

function drawCharts(): void {
  charts.curves?.destroy();
  charts.scatter?.destroy();
  charts.curves = charts.scatter = undefined;
  if (!view) return;
  const problem = pick.problem.value;
  const metric = chosenMetric();
  const colours = themeColours();
  const curves = metricCurves(view.perLayer, problem, metric);
  charts.curves = curvesChart(byId<HTMLCanvasElement>('curves'), {
    layers: curves.layers, series: curves.series, tracing: tracingCurve(view.points, problem, curves.layers),
    effectLabel: effectName(view.summary), metricLabel: METRIC_LABELS[metric], title: `${METRIC_LABELS[metric]} per layer — ${problem}`, colours,
  });
  const nLayers = view.summary.nLayers ?? Math.max(0, ...view.summary.layers) + 1;
  charts.scatter = scatterChart(byId<HTMLCanvasElement>('scatter'), {
    groups: scatterByLayer(view.points, pick.method.value, problem, metric), nLayers,
    effectLabel: effectName(view.summary), metricLabel: METRIC_LABELS[metric], title: `${pick.method.value} · ${problem}: ${METRIC_LABELS[metric]} vs ${effectName(view.summary)}`, colours,
  });
  renderLayerTable(view.perLayer, problem, metric);
}

function render(v: StudyView, receivedAt: number): void {
  view = v;
  const s = v.summary;
  byId('study-title').textContent = `Study: ${s.name}`;
  byId('study-meta').textContent = `${summaryLine(s)} — ${s.dir}`;
  renderR2Table(v.rows);
  const saved = channel.state<UiState>();
  const groups = groupsOf(v.rows.length > 0 ? v.rows : v.perLayer);
  fillPicker(pick.problem, groups.problems, pick.problem.value || saved.problem);
  fillPicker(pick.method, groups.methods, pick.method.value || saved.method);
  if (!pick.metric.dataset.restored && saved.metric) pick.metric.value = saved.metric;
  pick.metric.dataset.restored = 'yes';
  drawCharts();
  refreshControls();
  afterPaint(() => channel.post({ type: 'render/timing', what: 'study', ms: Math.round((performance.now() - receivedAt) * 10) / 10 }));
}

function start(kind: JobKind, text: string): void {
  const requestId = newRequestId(kind);
  jobs.set(requestId, kind);
  clearError();
  status.start(requestId, text);
  refreshControls();
  channel.post({ type: kind === 'reload' ? 'study/reload' : 'study/resume', requestId });
}

function finish(requestId: string, state: 'done' | 'error' | 'idle', text: string): void {
  if (!jobs.delete(requestId)) return;
  if (status.requestId === requestId) status.finish(state, text);
  refreshControls();
}

const doneText = (): string => (view ? progressLine(view.summary) : '');

function onInit(m: Extract<HostToPanel<StudyToWebview>, { type: 'study/init' }>, receivedAt: number): void {
  if (m.view) render(m.view, receivedAt);
  else byId('study-meta').textContent = m.dir;
  for (const [kind, requestId] of Object.entries(m.running ?? {}) as Array<[JobKind, string | undefined]>) {
    if (!requestId || jobs.has(requestId)) continue;
    jobs.set(requestId, kind);
    status.start(requestId, kind === 'resume' ? 'Resuming the study…' : 'Reading the study…');
  }
  if (!status.running) {
    if (m.error) {
      showError(m.error);
      status.finish('error', 'Could not read the study.');
    } else if (m.view) status.finish('done', doneText());
    else start('reload', 'Reading the study…');
  }
  refreshControls();
}

channel.listen((m, receivedAt) => {
  switch (m.type) {
    case 'study/init':
      return onInit(m, receivedAt);
    case 'study/analysis':
      return render(m.view, receivedAt);
    case 'job/progress':
      if (status.requestId === m.requestId) status.progress(m.done, m.total, stageOf(m.message));
      return;
    case 'job/done':
      return finish(m.requestId, 'done', doneText());
    case 'job/error':
      if (!m.cancelled) showError(m.message);
      return finish(m.requestId, m.cancelled ? (view ? 'done' : 'idle') : 'error', m.cancelled ? `Stopped. ${doneText()}` : 'Failed (see the message above).');
  }
});

byId('study-reload').addEventListener('click', () => start('reload', 'Reading the study…'));
byId('study-resume').addEventListener('click', () => start('resume', 'Resuming the study…'));
for (const select of Object.values(pick)) {
  select.addEventListener('change', () => {
    channel.saveState<UiState>({ problem: pick.problem.value, metric: chosenMetric(), method: pick.method.value });
    drawCharts();
  });
}
byId('r2-csv').addEventListener('click', () => view && exportCsv(post, r2Csv(view.rows), `${baseName()}-r2`));
byId('layers-csv').addEventListener('click', () => view && exportCsv(post, perLayerCsv(view.perLayer), `${baseName()}-per-layer`));
byId('curves-csv').addEventListener('click', () => view && exportCsv(post, perLayerCsv(view.perLayer.filter((p) => p.problem === pick.problem.value)), `${baseName()}-curves-${fileSlug(pick.problem.value)}`));
byId('scatter-csv').addEventListener('click', () => view && exportCsv(post, pointsCsv(view.points), `${baseName()}-points`));
byId('curves-png').addEventListener('click', () => void exportPng(post, byId<HTMLCanvasElement>('curves'), `${baseName()}-curves-${chosenMetric()}`).catch((e: Error) => showError(e.message)));
byId('scatter-png').addEventListener('click', () => void exportPng(post, byId<HTMLCanvasElement>('scatter'), `${baseName()}-scatter-${chosenMetric()}`).catch((e: Error) => showError(e.message)));

onThemeChange(drawCharts);
refreshControls();
channel.ready();
