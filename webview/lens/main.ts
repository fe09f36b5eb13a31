/**
 * The Logit Lens panel (webview side): the prompt's tokens, a map of each layer's top-1 token per
 * position (top-K on hover and click), and, when an answer is followed, a map of its rank and
 * probability. It asks for a run when the host has no result; answer and K come from its form (a K at
 * most the computed one only redraws). Every job ends in `job/done` or `job/error`, which settle
 * `#lens-status[data-state]`.
 */
import '../shared/base.css';
import './lens.css';
import type { HostToPanel } from '../../src/protocol/panels';
import type { LensFromWebview, LensRequestView, LensToWebview, LensView } from '../../src/protocol/panels/lens';
import { LENS_DEFAULT_TOP, LENS_MAX_TOP } from '../../src/protocol/panels/lens';
import { fileSlug } from '../shared/csv';
import { afterPaint, byId, clear, h } from '../shared/dom';
import { clearError, showError } from '../shared/errors';
import { canvasPng, exportCsv } from '../shared/exporting';
import { shownToken } from '../shared/gridData';
import { JobStatus } from '../shared/status';
import { onThemeChange, themeColours } from '../shared/theme';
import { newRequestId, panelChannel } from '../shared/vscodeApi';
import { answerCsv, quotedToken, topCsv } from './data';
import { buildLayout } from './layout';
import { answerMap, renderDetail, topMap } from './maps';
import { drawMap } from './png';

const channel = panelChannel<LensToWebview, LensFromWebview>();
buildLayout(byId('root'));

let request: LensRequestView | undefined;
let view: LensView | undefined;
let picked: { l: number; t: number } | undefined;
const status = new JobStatus(byId('lens-status'), 'lens-cancel', (requestId) => channel.post({ type: 'job/cancel', requestId }));
const post = (m: Parameters<typeof channel.post>[0]): void => channel.post(m);
const answerInput = byId<HTMLInputElement>('lens-answer');
const kInput = byId<HTMLInputElement>('lens-k');

/** K from the form, or undefined (with the reason shown) when it is not a whole number in range. */
function formK(): number | undefined {
  const k = Number(kInput.value);
  if (Number.isInteger(k) && k >= 1 && k <= LENS_MAX_TOP) return k;
  showError(`Top K must be a whole number from 1 to ${LENS_MAX_TOP}.`);
  return undefined;
}

/** K to show: the form's, at most what the result holds. */
const shownK = (): number => Math.min(view?.request.top ?? LENS_DEFAULT_TOP, Number(kInput.value) || LENS_DEFAULT_TOP);

function refreshControls(): void {
  byId<HTMLButtonElement>('lens-run').disabled = status.running || !request;
}

function showPrompt(prompt: string, tokens?: readonly string[]): void {
  const box = byId('lens-prompt');
  clear(box);
  if (tokens) box.append(...tokens.map((t, i) => h('code', { class: 'token', title: `position ${i}` }, shownToken(t))));
  else box.append(h('span', {}, prompt));
}

function pick(l: number, t: number): void {
  if (!view) return;
  picked = { l, t };
  for (const td of document.querySelectorAll('td.picked')) td.classList.remove('picked');
  for (const td of document.querySelectorAll(`table.lens-map td[data-l="${l}"][data-t="${t}"]`)) td.classList.add('picked');
  renderDetail(byId('lens-detail'), view.result, l, t, shownK());
}

function render(v: LensView, receivedAt?: number): void {
  view = v;
  const r = v.result;
  const k = shownK();
  showPrompt(v.request.prompt, r.tokens);
  const edits = v.edits.length ? `with edits ${v.edits.join(', ')} applied` : 'no edits applied';
  byId('lens-summary').textContent = `${v.model}: ${r.layers.length} layers × ${r.tokens.length} positions, top ${v.request.top} per cell, ${edits}; decoded in ${v.seconds.toFixed(1)} s.`;
  byId('lens-stale').hidden = true;
  const top = byId('lens-top');
  clear(top);
  top.append(topMap(r, k, pick));
  byId('lens-top-section').hidden = false;
  const answer = byId('lens-answer-map');
  clear(answer);
  byId('lens-answer-section').hidden = !r.answer;
  if (r.answer) {
    byId('lens-answer-title').textContent = `The answer ${quotedToken(r.answer.token)} through the layers`;
    answer.append(answerMap(r, k, pick));
  }
  const last = picked && picked.l < r.layers.length && picked.t < r.tokens.length ? picked : undefined;
  if (last) pick(last.l, last.t);
  else byId('lens-detail').hidden = true;
  if (receivedAt !== undefined) afterPaint(() => channel.post({ type: 'render/timing', what: 'lens', ms: Math.round((performance.now() - receivedAt) * 10) / 10 }));
}

function start(): void {
  if (!request || status.running) return;
  clearError();
  const top = formK();
  if (top === undefined) return;
  const requestId = newRequestId('lens');
  status.start(requestId, 'Decoding every layer…');
  refreshControls();
  const answer = answerInput.value;
  channel.post({ type: 'lens/start', requestId, top, ...(answer.trim() !== '' ? { answer } : {}) });
}

function finish(requestId: string, state: 'done' | 'error' | 'idle', text: string): void {
  if (status.requestId !== requestId) return;
  status.finish(state, text);
  refreshControls();
}

function onInit(m: Extract<HostToPanel<LensToWebview>, { type: 'lens/init' }>, receivedAt: number): void {
  request = m.request;
  answerInput.value = m.request.answer ?? '';
  kInput.value = String(m.request.top);
  byId('lens-title').textContent = 'Logit lens';
  const badge = byId('lens-model');
  badge.hidden = !m.model;
  badge.textContent = m.model ? `${m.model.name} · ${m.model.n_layers} layers` : '';
  if (m.view) render(m.view, receivedAt);
  else {
    showPrompt(m.request.prompt);
    byId('lens-summary').textContent = '';
  }
  if (m.running) {
    if (status.requestId !== m.running) status.start(m.running, 'Decoding every layer…');
  } else if (m.error) {
    showError(m.error);
    status.finish('error', 'Could not decode (see the message above).');
  } else if (!m.view) {
    start();
    return;
  } else if (!status.running) status.finish('done', '');
  refreshControls();
}

async function exportMap(which: 'top' | 'answer', png: boolean): Promise<void> {
  if (!view) return;
  const r = view.result;
  const base = `${fileSlug(view.request.prompt)}-lens-${which}`;
  if (!png) return exportCsv(post, which === 'top' ? topCsv(r, shownK()) : answerCsv(r), base);
  const title = which === 'top' ? `Logit lens of "${view.request.prompt}" (${view.model}): top-1 token per layer and position` : `Logit lens: rank and probability of ${quotedToken(r.answer?.token ?? '')} per layer and position (${view.model})`;
  const canvas = drawMap(r, which, title, themeColours());
  post({ type: 'export/save', suggestedName: `${base}.png`, mime: 'image/png', data: await canvasPng(canvas) });
}

channel.listen((m, receivedAt) => {
  switch (m.type) {
    case 'lens/init':
      return onInit(m, receivedAt);
    case 'lens/result':
      return render(m.view, receivedAt);
    case 'lens/stale': {
      const note = byId('lens-stale');
      note.textContent = m.reason;
      note.hidden = false;
      return;
    }
    case 'job/progress':
      if (status.requestId === m.requestId) status.progress(m.done, m.total, m.message);
      return;
    case 'job/done':
      return finish(m.requestId, 'done', '');
    case 'job/error':
      if (!m.cancelled) showError(m.message);
      return finish(m.requestId, m.cancelled ? (view ? 'done' : 'idle') : 'error', m.cancelled ? 'Stopped.' : 'Failed (see the message above).');
  }
});

byId('lens-run').addEventListener('click', start);
for (const input of [answerInput, kInput]) {
  input.addEventListener('keydown', (e: KeyboardEvent) => {
    if (e.key === 'Enter') start();
  });
}
// A K the result already holds only redraws; a larger one needs the worker.
kInput.addEventListener('change', () => {
  const k = Number(kInput.value);
  if (!view || !Number.isInteger(k) || k < 1 || k > LENS_MAX_TOP) return;
  if (k <= view.request.top) render(view);
  else start();
});
for (const which of ['top', 'answer'] as const) {
  byId(`lens-${which}-png`).addEventListener('click', () => void exportMap(which, true).catch((e: Error) => showError(e.message)));
  byId(`lens-${which}-csv`).addEventListener('click', () => void exportMap(which, false).catch((e: Error) => showError(e.message)));
}
onThemeChange(() => view && render(view));
refreshControls();
channel.ready();
