/**
 * The Fact panel's attribution preview (issue 19 item 4) in headless Chromium under the panel's real
 * HTML shell, fed a real `trace/run` with `preview` of the embedded model (the worker over in-memory
 * JSON-RPC streams, progress reports and all): the preview is drawn at once with the "approximate
 * (attribution patching)" label and every cell marked estimated; streamed exact cells replace their
 * estimates one by one (table values, count); a reloaded webview gets the running trace back as it
 * was; the final result removes the label; a cancelled trace gives way to the last exact one; the
 * checkbox turns the preview off; the "Logit lens" button asks the host for the lens. Screenshot of the
 * half-replaced grid: test-output/webview/attribution-preview.png.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { factFromPrompt, modelSummary, packGrid, packTrace } from '../../src/extension/panels/wire';
import type { ModelInfo, TraceResultDto } from '../../src/protocol/dto';
import type { TraceCellDto, TracePreviewDto } from '../../src/protocol/engine';
import type { TracePreviewView } from '../../src/protocol/panels/fact';
import { TRACE_KIND_NAMES } from '../../src/protocol/panels/fact';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { browserSkipReason, launchChromium, openPanelPage, pageErrors, waitPosted } from '../helpers/panelPage';
import { repoRoot, tempDir } from '../helpers/paths';

const skip = browserSkipReason(['fact']);
const shots = path.join(repoRoot, 'test-output', 'webview');

/** As the host packs it (factPanel.ts): grids flat, the answer as its text. */
function packPreview(p: TracePreviewDto): TracePreviewView {
  const { ids: _ids, answer, grids, ...rest } = p;
  return { ...rest, answer: answer.token, grids: TRACE_KIND_NAMES.filter((k) => grids[k]).map((k) => packGrid(k, grids[k]!.window, grids[k]!.scores)) };
}

/** Host → webview, every grid a Float32Array in the page as structured clone delivers it. */
async function send(page: Page, message: object): Promise<void> {
  const plain = JSON.parse(JSON.stringify(message, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v))) as Record<string, unknown>;
  await page.evaluate((m: Record<string, unknown>) => {
    type G = { scores: number[] };
    const pack = (holder: { grids?: G[] } | undefined): void => {
      if (holder?.grids) holder.grids = holder.grids.map((g) => ({ ...g, scores: new Float32Array(g.scores) as unknown as number[] }));
    };
    pack(m.trace as { grids?: G[] } | undefined);
    pack(m.preview as { grids?: G[] } | undefined);
    pack((m.traceStream as { preview?: { grids?: G[] } } | undefined)?.preview);
    (globalThis as unknown as { postMessage(m: unknown, t: string): void }).postMessage(m, '*');
  }, plain);
}

describe('Fact panel: attribution preview replaced by the exact trace (headless Chromium)', { skip }, () => {
  let browser: Browser;
  let dir: string;
  let worker: InMemoryWorker;
  let model: ModelInfo;
  let preview: TracePreviewView | undefined;
  const cells: TraceCellDto[] = [];
  let trace: TraceResultDto;
  const fact = factFromPrompt('Angola is located in', 'Angola');

  before(async () => {
    worker = inMemoryWorker();
    model = await worker.send('model/load', { model: 'default', threads: 1 });
    trace = await worker.send('trace/run', { prompt: fact.prompt, subject: fact.subject, kinds: ['hidden', 'mlp', 'attn'], window: 4, preview: true, maxRows: 20 }, {
      onProgress: (p) => {
        if (p.trace?.preview) preview = packPreview(p.trace.preview);
        if (p.trace?.cells) cells.push(...p.trace.cells);
      },
    });
    dir = tempDir('locus-webview-attribution-');
    browser = await launchChromium(dir);
    fs.mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await worker?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('drawn at once and labelled approximate; exact cells replace it; the result removes the label', async () => {
    assert.ok(preview, 'the worker sent a preview');
    assert.equal(cells.length, trace.cells);
    const page = await openPanelPage(browser, dir, 'fact', { width: 1400, height: 1000 });
    const init = { type: 'fact/init', fact, model: modelSummary(model), applied: [], probe: { tokens: [], ids: [], top: [] } };
    await send(page, { ...init, running: {} });
    const T = preview.tokens.length;
    const L = model.n_layers;
    const estimated = (kind?: string): Promise<number> => page.locator(`table${kind ? `[data-grid="${kind}"]` : ''} td.approx`).count();
    const value = async (kind: string, t: number, l: number): Promise<number> => Number(await page.locator(`table[data-grid="${kind}"] td[data-t="${t}"][data-l="${l}"]`).getAttribute('data-value'));

    assert.equal(await page.locator('#trace-preview').isChecked(), true, 'the preview is on by default');
    await page.click('#trace-run');
    const started = await waitPosted(page, 'trace/start');
    assert.equal((started.options as { preview?: boolean }).preview, true);
    await send(page, { type: 'trace/preview', requestId: started.requestId, preview });
    assert.equal(await page.locator('#trace-heatmaps canvas').count(), 3);
    assert.equal(await page.locator('#trace-approx').isVisible(), true);
    assert.match(await page.locator('#trace-approx').innerText(), /approximate \(attribution patching\)/);
    assert.equal(await estimated(), 3 * T * L, 'every cell is an estimate');
    const [b, e] = preview.subjectRange;
    for (const g of preview.grids) assert.equal(await value(g.kind, e - 1, 1), g.scores[(e - 1) * L + 1], `${g.kind}: the preview's value`);

    // Half the exact cells: they replace their estimates, the rest stay marked.
    const half = Math.floor(cells.length / 2);
    await send(page, { type: 'trace/cells', requestId: started.requestId, cells: cells.slice(0, half) });
    assert.equal(await estimated(), 3 * T * L - half);
    for (const c of cells.slice(0, half)) assert.equal(await value(c.kind, c.t, c.layer), Math.fround(c.score));
    const ran = 3 * (T - b) * L;
    assert.match(await page.locator('#trace-approx-text').innerText(), new RegExp(`${half} of ${ran} cells exact`));
    await page.locator('#trace').screenshot({ path: path.join(shots, 'attribution-preview.png') });

    // A reload while the trace runs: the preview and the exact cells so far come back with fact/init.
    await send(page, { ...init, running: { trace: started.requestId }, traceStream: { requestId: started.requestId, preview, cells: cells.slice(0, half) } });
    assert.equal(await page.locator('#trace-approx').isVisible(), true);
    assert.equal(await estimated(), 3 * T * L - half);
    await send(page, { type: 'trace/cells', requestId: started.requestId, cells: cells.slice(half) });
    // Only the cells the trace never runs (tokens before the subject) are still estimates.
    assert.equal(await estimated(), 3 * b * L);

    await send(page, { type: 'trace/result', requestId: started.requestId, trace: packTrace(trace) });
    await send(page, { type: 'job/done', requestId: started.requestId });
    assert.equal(await page.locator('#trace-approx').isVisible(), false, 'the label goes with the complete grid');
    assert.equal(await estimated(), 0);
    const t = e - 1;
    assert.equal(await value('mlp', t, 2), Math.fround(trace.grids.mlp!.scores[t][2]));
    assert.deepEqual(pageErrors.get(page), []);
  });

  test('a cancelled trace gives way to the last exact one; the checkbox turns the preview off; Logit lens', async () => {
    assert.ok(preview);
    const page = await openPanelPage(browser, dir, 'fact', { width: 1400, height: 1000 });
    await send(page, { type: 'fact/init', fact, model: modelSummary(model), applied: [], running: {}, probe: { tokens: [], ids: [], top: [] }, trace: packTrace(trace) });
    await page.click('#trace-run');
    const started = await waitPosted(page, 'trace/start');
    await send(page, { type: 'trace/preview', requestId: started.requestId, preview });
    assert.ok((await page.locator('td.approx').count()) > 0);
    await send(page, { type: 'job/error', requestId: started.requestId, message: 'cancelled', cancelled: true });
    assert.equal(await page.locator('td.approx').count(), 0);
    assert.equal(await page.locator('#trace-approx').isVisible(), false);
    assert.match(await page.locator('#trace-summary').innerText(), /samples/, "the exact trace's summary is back");

    await page.uncheck('#trace-preview');
    await page.click('#trace-run');
    const second = await waitPosted(page, 'trace/start', 1);
    assert.equal((second.options as { preview?: boolean }).preview, false);

    await page.click('#trace-lens');
    await waitPosted(page, 'lens/open');
    assert.deepEqual(pageErrors.get(page), []);
  });
});
