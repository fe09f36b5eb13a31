/**
 * The Sequential Editing panel (webview side): draws the curves of a run (src/protocol/panels/sequential.ts)
 * — scores of all edits so far, held-out perplexity, ‖W‖ growth per edited weight — and redraws them
 * whenever the host sends the folder again (after each batch of a running job). Reload and Resume are
 * jobs; every job ends in `job/done` or `job/error`, which settle `#seq-status[data-state]`.
 */
import '../shared/base.css';
import './sequential.css';
import type { Chart } from 'chart.js';
import type { HostToPanel } from '../../src/protocol/panels';
import type { SequentialFromWebview, SequentialToWebview, SequentialView } from '../../src/protocol/panels/sequential';
import { lineChart } from '../shared/charts';
import { fileSlug } from '../shared/csv';
import { afterPaint, byId, clear, h } from '../shared/dom';
import { clearError, showError } from '../shared/errors';
import { exportCsv, exportPng } from '../shared/exporting';
import { JobStatus } from '../shared/status';
import { onThemeChange, themeColours } from '../shared/theme';
import { newRequestId, panelChannel } from '../shared/vscodeApi';
import { curveData, fmt, maxGrowth, pointsCsv, summaryLine } from './data';
import { buildLayout } from './layout';

type JobKind = 'reload' | 'resume';
const channel = panelChannel<SequentialToWebview, SequentialFromWebview>();
buildLayout(byId('root'));

let view: SequentialView | null = null;
const jobs = new Map<string, JobKind>();
const charts: Chart[] = [];
const status = new JobStatus(byId('seq-status'), 'seq-cancel', (requestId) => channel.post({ type: 'job/cancel', requestId }));
const post = (m: Parameters<typeof channel.post>[0]): void => channel.post(m);
const baseName = (): string => fileSlug(view?.summary.name ?? 'sequential');

function refreshControls(): void {
  byId<HTMLButtonElement>('seq-reload').disabled = status.running;
  const resume = byId<HTMLButtonElement>('seq-resume');
  resume.hidden = !view || view.summary.done >= view.summary.requests || status.running;
}

function drawCharts(): void {
  for (const c of charts.splice(0)) c.destroy();
  if (!view || view.points.length === 0) return;
  const colours = themeColours();
  const d = curveData(view.points);
  const s = colours.series;
  charts.push(lineChart(byId<HTMLCanvasElement>('seq-scores'), {
    labels: d.edits, title: 'Mean score of all edits so far', xLabel: 'edits so far', yLabel: 'score', colours,
    series: [
      { label: 'rewrite', values: d.rewrite, colour: s[0] },
      { label: 'paraphrase', values: d.paraphrase, colour: s[1] },
      { label: 'neighborhood', values: d.neighborhood, colour: s[2] },
    ],
  }));
  charts.push(lineChart(byId<HTMLCanvasElement>('seq-perplexity'), {
    labels: d.edits, title: 'Perplexity on the WikiText-2 sample', xLabel: 'edits so far', yLabel: 'perplexity', colours,
    series: [{ label: 'perplexity', values: d.perplexity, colour: s[3 % s.length] }],
  }));
  charts.push(lineChart(byId<HTMLCanvasElement>('seq-growth'), {
    labels: d.edits, title: '‖W‖_F / ‖W₀‖_F per edited weight', xLabel: 'edits so far', yLabel: 'growth', colours,
    series: d.growth.map((g, i) => ({ label: g.param, values: g.values, colour: s[i % s.length] })),
  }));
}

function renderTable(v: SequentialView): void {
  const body = byId('seq-table').querySelector('tbody')!;
  clear(body);
  for (const p of v.points) {
    body.append(h('tr', { 'data-edits': String(p.edits) },
      h('td', {}, String(p.edits)),
      h('td', { class: 'num' }, fmt(p.scores?.rewrite)), h('td', { class: 'num' }, fmt(p.scores?.paraphrase)), h('td', { class: 'num' }, fmt(p.scores?.neighborhood)),
      h('td', { class: 'num' }, fmt(p.perplexity, 2)), h('td', { class: 'num' }, fmt(maxGrowth(p), 4)),
    ));
  }
}

function render(v: SequentialView, receivedAt: number): void {
  view = v;
  byId('seq-title').textContent = `Sequential editing: ${v.summary.name}`;
  byId('seq-meta').textContent = `${summaryLine(v.summary)} — ${v.summary.dir}`;
  renderTable(v);
  drawCharts();
  refreshControls();
  afterPaint(() => channel.post({ type: 'render/timing', what: 'sequential', ms: Math.round((performance.now() - receivedAt) * 10) / 10 }));
}

function start(kind: JobKind, text: string): void {
  const requestId = newRequestId(kind);
  jobs.set(requestId, kind);
  clearError();
  status.start(requestId, text);
  refreshControls();
  channel.post({ type: kind === 'reload' ? 'sequential/reload' : 'sequential/resume', requestId });
}

function finish(requestId: string, state: 'done' | 'error' | 'idle', text: string): void {
  if (!jobs.delete(requestId)) return;
  if (status.requestId === requestId) status.finish(state, text);
  refreshControls();
}

const doneText = (): string => (view ? `${view.summary.done}/${view.summary.requests} edits applied.` : '');

function onInit(m: Extract<HostToPanel<SequentialToWebview>, { type: 'sequential/init' }>, receivedAt: number): void {
  if (m.view) render(m.view, receivedAt);
  else byId('seq-meta').textContent = m.dir;
  if (m.running === 'pending') start('resume', 'Starting the run…');
  else if (m.running && !jobs.has(m.running)) {
    jobs.set(m.running, 'resume');
    status.start(m.running, 'Running…');
  }
  if (!status.running) {
    if (m.error) {
      showError(m.error);
      status.finish('error', 'Could not read the run.');
    } else status.finish(m.view ? 'done' : 'idle', doneText());
  }
  refreshControls();
}

channel.listen((m, receivedAt) => {
  switch (m.type) {
    case 'sequential/init':
      return onInit(m, receivedAt);
    case 'sequential/view':
      return render(m.view, receivedAt);
    case 'job/progress':
      if (status.requestId === m.requestId) status.progress(m.done, m.total, m.message);
      return;
    case 'job/done':
      return finish(m.requestId, 'done', doneText());
    case 'job/error':
      if (!m.cancelled) showError(m.message);
      return finish(m.requestId, m.cancelled ? (view ? 'done' : 'idle') : 'error', m.cancelled ? `Stopped. ${doneText()}` : 'Failed (see the message above).');
  }
});

byId('seq-reload').addEventListener('click', () => start('reload', 'Reading the run…'));
byId('seq-resume').addEventListener('click', () => start('resume', 'Resuming the run…'));
byId('seq-csv').addEventListener('click', () => view && exportCsv(post, pointsCsv(view.points), `${baseName()}-curves`));
for (const id of ['seq-scores', 'seq-perplexity', 'seq-growth']) {
  byId(`${id}-png`).addEventListener('click', () => void exportPng(post, byId<HTMLCanvasElement>(id), `${baseName()}-${id.slice(4)}`).catch((e: Error) => showError(e.message)));
}
onThemeChange(drawCharts);
refreshControls();
channel.ready();
