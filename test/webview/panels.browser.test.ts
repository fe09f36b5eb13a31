/**
 * The Fact and Compare bundles (dist/webview/*.js, built by `node esbuild.js webviews`) in headless
 * Chromium under the panels' real HTML shell (html.ts: CSP with a nonce), with a stand-in
 * acquireVsCodeApi, fed real results of the embedded model (the worker's handlers over in-memory
 * streams): the DOM contract the e2e tests rely on is filled, charts are drawn and export PNG/CSV,
 * errors show in #error and reset the status. Screenshots go to test-output/webview/.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { factFromRecord, modelSummary, packTrace } from '../../src/extension/panels/wire';
import type { DatasetSummary, EditResultDto, ModelInfo, ProbeResultDto, SweepResultDto, TraceResultDto } from '../../src/protocol/dto';
import type { EngineMethod, EngineParams, EngineResult } from '../../src/protocol/engine';
import type { EditSide } from '../../src/protocol/panels/compare';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { browserSkipReason, launchChromium, openPanelPage, pageErrors, waitPosted } from '../helpers/panelPage';
import type { Posted } from '../helpers/panelPage';
import { repoRoot, tempDir } from '../helpers/paths';

const skip = browserSkipReason(['fact', 'compare']);
const shots = path.join(repoRoot, 'test-output', 'webview');
/** Angola → Africa: a fact of the bundled sample the embedded model knows. */
const CASE_ID = 20952;

/** The bits of a canvas the pixel check reads (the test's tsconfig has no DOM types). */
interface HTMLCanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}


/** Host → webview: grids become Float32Array in the page, as structured clone delivers them from the host. */
async function send(page: Page, message: object): Promise<void> {
  await page.evaluate((m: Record<string, unknown>) => {
    const trace = m.trace as { grids?: Array<{ scores: number[] }> } | undefined;
    if (trace?.grids) trace.grids = trace.grids.map((g) => ({ ...g, scores: new Float32Array(g.scores) as unknown as number[] }));
    (globalThis as unknown as { postMessage(m: unknown, t: string): void }).postMessage(m, '*');
  }, JSON.parse(JSON.stringify(message, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v))) as Record<string, unknown>);
}

const attr = (page: Page, selector: string, name: string): Promise<string | null> => page.locator(selector).first().getAttribute(name);
const text = (page: Page, selector: string): Promise<string> => page.locator(selector).first().innerText();
/** Text of an element that may sit in a closed <details> (innerText is empty there). */
const content = async (page: Page, selector: string): Promise<string> => (await page.locator(selector).first().textContent()) ?? '';

describe('webview panels in headless Chromium', { skip }, () => {
  let browser: Browser;
  let dir: string;
  let worker: InMemoryWorker;
  let model: ModelInfo;
  let dataset: DatasetSummary;
  let probe: ProbeResultDto;
  let trace: TraceResultDto;
  let edit: EditResultDto;
  const run = <M extends EngineMethod>(m: M, p: EngineParams<M>): Promise<EngineResult<M>> => worker.send(m, p);

  before(async () => {
    worker = inMemoryWorker();
    model = await run('model/load', { model: 'default', threads: 1 });
    dataset = await run('dataset/load', {});
    const record = dataset.records.find((r) => r.case_id === CASE_ID)!;
    const fact = factFromRecord(record);
    probe = await run('probe/run', { prompt: fact.prompt, k: 10 });
    trace = await run('trace/run', { prompt: fact.prompt, subject: fact.subject, kinds: ['hidden', 'mlp', 'attn'] });
    // force: the case's subject is its prompt's first token, which the pre-flight safety checks flag for ROME (held otherwise).
    edit = await run('edit/run', { method: 'rome', caseIds: [CASE_ID], details: true, force: true });
    await run('edit/revertAll', {});
    dir = tempDir('locus-webview-');
    browser = await launchChromium(dir);
    fs.mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await worker?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('Fact panel: prompt, top-k, the three trace grids, the edit metrics, export and errors', async () => {
    const page = await openPanelPage(browser, dir, 'fact');
    const record = dataset.records.find((r) => r.case_id === CASE_ID)!;
    const fact = factFromRecord(record);
    await send(page, { type: 'fact/init', fact, model: modelSummary(model), applied: [], running: {} });

    // On open the panel asks for the next-token distribution.
    const probeStart = await waitPosted(page, 'probe/start');
    await send(page, { type: 'probe/result', requestId: probeStart.requestId, probe });
    await send(page, { type: 'job/done', requestId: probeStart.requestId });
    assert.equal(await text(page, '#prompt mark'), record.subject);
    assert.equal(await text(page, '#prompt'), fact.prompt);
    const rows = page.locator('#top-k tbody tr');
    assert.equal(await rows.count(), 10);
    assert.equal(await rows.first().getAttribute('data-token'), probe.top[0].token);
    assert.equal(Number(await rows.first().getAttribute('data-prob')), probe.top[0].prob);
    assert.equal(await attr(page, '#probe-status', 'data-state'), 'done');

    // Trace: progress, then the result as Float32Array grids.
    await page.click('#trace-run');
    const traceStart = await waitPosted(page, 'trace/start');
    assert.equal(await attr(page, '#trace-status', 'data-state'), 'running');
    await send(page, { type: 'job/progress', requestId: traceStart.requestId, done: 30, total: 120 });
    assert.match(await text(page, '#trace-status'), /30 \/ 120/);
    await send(page, { type: 'trace/result', requestId: traceStart.requestId, trace: packTrace(trace) });
    await send(page, { type: 'job/done', requestId: traceStart.requestId });
    assert.equal(await attr(page, '#trace-status', 'data-state'), 'done');
    const T = trace.tokens.length;
    const L = model.n_layers;
    for (const kind of ['hidden', 'mlp', 'attn'] as const) {
      assert.equal(await page.locator(`table[data-grid="${kind}"] td[data-t][data-l]`).count(), T * L, `${kind} table size`);
      const t = trace.subjectRange[1] - 1;
      const l = Math.floor(L / 2);
      const cell = page.locator(`table[data-grid="${kind}"] td[data-t="${t}"][data-l="${l}"]`);
      const expected = trace.grids[kind]!.scores[t][l];
      assert.equal(Number(await cell.getAttribute('data-value')), Math.fround(expected));
      assert.equal((await cell.textContent())?.trim(), expected.toFixed(4));
    }
    const subjectLabel = await content(page, `table[data-grid="hidden"] tbody tr:nth-child(${trace.subjectRange[0] + 1}) th`);
    assert.ok(subjectLabel.endsWith('*'), `subject row label "${subjectLabel}" ends with *`);
    // Charts drew something: three heatmaps and the effect curves, each with many distinct colours.
    const colourCounts = await page.evaluate(() =>
      [...(globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<HTMLCanvasLike> } }).document.querySelectorAll('canvas')].map((c) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < d.length; i += 16) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size;
      }),
    );
    assert.equal(colourCounts.length, 4);
    for (const n of colourCounts) assert.ok(n > 20, `a chart has ${n} colours`);

    // Export: PNG bytes and CSV text go to the host as export/save.
    await page.click('#heatmap-mlp-png');
    const png = await waitPosted(page, 'export/save');
    assert.equal(png.mime, 'image/png');
    const signature = await page.evaluate(() => {
      const m = (globalThis as unknown as { __posted: Array<{ type: string; data: ArrayBuffer }> }).__posted.find((x) => x.type === 'export/save')!;
      return [...new Uint8Array(m.data).slice(0, 4)];
    });
    assert.deepEqual(signature, [137, 80, 78, 71]);
    await page.click('#heatmap-hidden-csv');
    const csvMessage = await waitPosted(page, 'export/save', 1);
    assert.equal(csvMessage.suggestedName, 'angola-trace-hidden.csv');
    assert.match(String(csvMessage.data), /^token_index,token,layer_0,/);
    await page.screenshot({ path: path.join(shots, 'fact-trace.png'), fullPage: true });

    // Edit: the form's values go out; the metrics table fills with the real result.
    await page.selectOption('#edit-method', 'rome');
    await page.selectOption('#edit-layer', '');
    await page.click('#edit-run');
    const editStart = await waitPosted(page, 'edit/start');
    assert.deepEqual(editStart.form, { method: 'rome', problem: 'error-injection' });
    await send(page, { type: 'edit/result', requestId: editStart.requestId, edit });
    await send(page, { type: 'job/done', requestId: editStart.requestId });
    assert.equal(await attr(page, '#edit-status', 'data-state'), 'done');
    const rewrite = page.locator('table#edit-metrics td[data-metric="rewrite"][data-when="after"]');
    assert.equal(Number(await rewrite.getAttribute('data-value')), edit.metrics.rewrite);
    assert.equal(await rewrite.innerText(), edit.metrics.rewrite.toFixed(3));
    assert.equal(await text(page, 'table#edit-metrics td[data-metric="overall"][data-when="before"]'), '—');
    assert.equal(Number(await attr(page, 'table#edit-metrics td[data-metric="logprob-new"][data-when="before"]', 'data-value')), edit.pre.targetNewLogprob);
    assert.equal(await text(page, '#edit-id'), edit.id);
    assert.equal(await page.locator('#edit-predictions tbody tr').count(), edit.details!.predictions.length);
    assert.equal(await page.locator('#edit-revert').isEnabled(), true);
    await page.screenshot({ path: path.join(shots, 'fact-edit.png'), fullPage: true });

    // Revert, then the host says the stack is empty: Revert turns off.
    await page.click('#edit-revert');
    const revert = await waitPosted(page, 'edit/revert');
    assert.equal(revert.id, edit.id);
    await send(page, { type: 'edit/applied', applied: [] });
    await send(page, { type: 'job/done', requestId: revert.requestId });
    assert.equal(await page.locator('#edit-revert').isEnabled(), false);

    // A failing job: the message in #error, the status reset, the button usable again.
    await page.click('#trace-run');
    const second = await waitPosted(page, 'trace/start', 1);
    await send(page, { type: 'job/error', requestId: second.requestId, message: 'the worker stopped (signal SIGKILL)', cancelled: false });
    assert.equal(await attr(page, '#trace-status', 'data-state'), 'error');
    assert.equal(await page.locator('#error').isVisible(), true);
    assert.match(await text(page, '#error'), /SIGKILL/);
    assert.equal(await page.locator('#trace-run').isEnabled(), true);

    // Bad hyperparameters never leave the panel.
    await page.fill('#edit-hparams', '{ not json');
    await page.click('#edit-run');
    assert.match(await text(page, '#error'), /not valid JSON/);

    const timings = await page.evaluate(() => (globalThis as unknown as { __posted: Array<{ type: string; what: string; ms: number }> }).__posted.filter((m) => m.type === 'render/timing'));
    const what = timings.map((t) => t.what);
    for (const w of ['init', 'probe', 'trace', 'edit']) assert.ok(what.includes(w), `render/timing for ${w}`);
    for (const t of timings) assert.ok(Number.isFinite(t.ms) && t.ms >= 0);
    console.log(`render timings (ms, data → paint): ${timings.map((t) => `${t.what} ${t.ms}`).join(', ')}`);

    // A theme switch (VS Code changes <html>'s variables and <body>'s class) redraws the charts in its colours.
    await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { documentElement: { style: { setProperty(k: string, v: string): void } }; body: { className: string } } }).document;
      d.documentElement.style.setProperty('--vscode-editor-background', '#1e1e1e');
      d.documentElement.style.setProperty('--vscode-editor-foreground', '#d4d4d4');
      d.body.className = 'vscode-dark';
    });
    await page.waitForFunction(() => {
      const c = (globalThis as unknown as { document: { querySelector(s: string): HTMLCanvasLike | null } }).document.querySelector('#heatmap-hidden-canvas');
      const px = c?.getContext('2d')?.getImageData(1, 1, 1, 1).data;
      return px !== undefined && px[0] === 0x1e && px[1] === 0x1e && px[2] === 0x1e;
    });
    await page.screenshot({ path: path.join(shots, 'fact-dark.png'), fullPage: false });
    assert.deepEqual(pageErrors.get(page), []);
    await page.close();
  });

  test('Fact panel: a prompt without its subject is a clear error, nothing runs', async () => {
    const page = await openPanelPage(browser, dir, 'fact');
    await send(page, { type: 'fact/init', fact: null, model: modelSummary(model), error: 'The prompt does not contain the subject "Eiffel Tower"', applied: [], running: {} });
    assert.equal(await page.locator('#error').isVisible(), true);
    assert.match(await text(page, '#error'), /does not contain the subject/);
    assert.equal(await page.locator('#trace-run').isEnabled(), false);
    assert.equal(await page.locator('#edit-run').isEnabled(), false);
    assert.equal(await attr(page, '#trace-status', 'data-state'), 'idle');
    const starts = await page.evaluate(() => (globalThis as unknown as { __posted: Posted[] }).__posted.filter((m) => m.type.endsWith('/start')).length);
    assert.equal(starts, 0);
    await page.close();
  });

  test('Compare panel: two edits side by side and a real layer sweep', async () => {
    const sweep: SweepResultDto = await run('sweep/run', { caseId: CASE_ID, methods: ['rome', 'ft'], layers: [1, 4] });
    const record = dataset.records.find((r) => r.case_id === CASE_ID)!;
    const fact = factFromRecord(record);
    const side = (id: string, e: EditResultDto): EditSide => ({ file: `/runs/${id}.json`, label: `Angola ${id}`, created: '2025-01-01T00:00:00.000Z', data: { fact, model: modelSummary(model), form: { method: e.method, problem: e.problem }, edit: { ...e, id } } });
    const right = side('e2', { ...edit, metrics: { ...edit.metrics, rewrite: edit.metrics.rewrite + 0.25 } });
    const page = await openPanelPage(browser, dir, 'compare');
    await send(page, {
      type: 'compare/init',
      model: modelSummary(model),
      runs: [right, side('e1', edit)].map((s) => ({ file: s.file, label: s.label, created: s.created })),
      cases: dataset.records.slice(0, 50).map((r) => ({ caseId: r.case_id, subject: r.subject, prompt: r.prompt })).concat([{ caseId: CASE_ID, subject: record.subject, prompt: record.prompt }]),
      left: side('e1', edit),
      right,
      caseId: CASE_ID,
      running: {},
    });
    assert.equal(Number(await attr(page, '#compare-table td[data-side="diff"][data-metric="rewrite"]', 'data-value')).toFixed(6), '0.250000');
    assert.equal(await page.inputValue('#compare-left'), '/runs/e1.json');

    await page.check('input[name="sweep-method"][value="ft"]');
    await page.fill('#sweep-layers', '4, 1');
    await page.click('#sweep-run');
    const start = await waitPosted(page, 'sweep/start');
    assert.deepEqual(start.form, { caseId: CASE_ID, methods: ['rome', 'ft'], problem: 'error-injection', layers: [1, 4] });
    assert.equal(await attr(page, '#sweep-status', 'data-state'), 'running');
    await send(page, { type: 'sweep/result', requestId: start.requestId, result: { fact, sweep } });
    await send(page, { type: 'job/done', requestId: start.requestId });
    assert.equal(await attr(page, '#sweep-status', 'data-state'), 'done');
    for (const p of sweep.points) {
      const cell = page.locator(`table#sweep-table td[data-method="${p.method}"][data-l="${p.layer}"][data-metric="rewrite"]`);
      assert.equal(await cell.getAttribute('data-value'), p.metrics.rewrite === null ? '' : String(p.metrics.rewrite));
    }
    assert.equal(await page.locator('table#sweep-table tbody tr').count(), sweep.points.length);
    await page.selectOption('#sweep-metric', 'overall');
    await page.click('#sweep-figure-csv');
    const csvMessage = await waitPosted(page, 'export/save');
    assert.match(String(csvMessage.data), /^method,layer,edit_layers,rewrite_hase_normalized,paraphrase_hase_normalized,neighborhood_hase_normalized,overall_hase_normalized,(rewrite_rome_probability,.*,overall_generation,)?tracing_effect,seconds\r\n/);
    await page.screenshot({ path: path.join(shots, 'compare.png'), fullPage: true });
    assert.deepEqual(pageErrors.get(page), []);
    await page.close();
  });
});
