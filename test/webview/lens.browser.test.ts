/**
 * The Logit Lens bundle (dist/webview/lens.js, built by `node esbuild.js webviews`) in headless Chromium
 * under the panels' real HTML shell, fed the real `lens/run` answer of the embedded model (the worker's
 * handlers over in-memory streams) for "Angola is located in" with the answer "Africa". Checks the DOM
 * contract (both maps' cells carry the result's numbers, top-K in the tooltip and on click), that a
 * smaller K only redraws while a larger one asks the host, the CSV/PNG exports, a stale note and the
 * error paths. Screenshot: test-output/webview/lens.png.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ModelInfo } from '../../src/protocol/dto';
import type { LensResultDto, LensView } from '../../src/protocol/panels/lens';
import { percent } from '../../webview/lens/data';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { browserSkipReason, launchChromium, openPanelPage, pageErrors, waitPosted } from '../helpers/panelPage';
import { repoRoot, tempDir } from '../helpers/paths';

const skip = browserSkipReason(['lens']);
const shots = path.join(repoRoot, 'test-output', 'webview');
const PROMPT = 'Angola is located in';

type PageGlobals = { __posted: Array<{ type: string; data?: unknown }> };

async function send(page: Page, message: object): Promise<void> {
  await page.evaluate((m: unknown) => (globalThis as unknown as { postMessage(m: unknown, t: string): void }).postMessage(m, '*'), JSON.parse(JSON.stringify(message)) as unknown);
}
const attr = (page: Page, selector: string, name: string): Promise<string | null> => page.locator(selector).first().getAttribute(name);
const posted = (page: Page, type: string): Promise<number> => page.evaluate((t) => (globalThis as unknown as PageGlobals).__posted.filter((m) => m.type === t).length, type);

describe('Logit Lens panel in headless Chromium', { skip }, () => {
  let browser: Browser;
  let dir: string;
  let worker: InMemoryWorker;
  let model: ModelInfo;
  let result: LensResultDto;
  let view: LensView;

  before(async () => {
    worker = inMemoryWorker();
    model = await worker.send('model/load', { model: 'default', threads: 1 });
    result = await worker.send('lens/run', { prompt: PROMPT, answer: 'Africa', top: 5 });
    view = { request: { prompt: PROMPT, answer: 'Africa', top: 5 }, result, model: model.name, edits: [], seconds: 0.2 };
    dir = tempDir('locus-lens-webview-');
    browser = await launchChromium(dir);
    fs.mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await worker?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a new panel asks for a run, then draws both maps with the worker\'s numbers; top-K on hover and click', async () => {
    const page = await openPanelPage(browser, dir, 'lens', { width: 1100, height: 1000 });
    await send(page, { type: 'lens/init', request: view.request, model: { name: model.name, n_layers: model.n_layers } });
    const start = await waitPosted(page, 'lens/start');
    assert.deepEqual({ top: start.top, answer: start.answer }, { top: 5, answer: 'Africa' });
    assert.equal(await attr(page, '#lens-status', 'data-state'), 'running');
    await send(page, { type: 'job/progress', requestId: start.requestId, message: 'decoding every layer', done: 3, total: 8 });
    assert.match(await page.locator('#lens-status').innerText(), /3 \/ 8/);
    await send(page, { type: 'lens/result', requestId: start.requestId, view });
    await send(page, { type: 'job/done', requestId: start.requestId });
    assert.equal(await attr(page, '#lens-status', 'data-state'), 'done');

    const L = result.layers.length;
    const T = result.tokens.length;
    assert.equal(await page.locator('#lens-map-top tbody tr').count(), L);
    assert.equal(await page.locator('#lens-map-top td[data-l][data-t]').count(), L * T);
    assert.equal(await page.locator('#lens-map-top thead th[data-t]').count(), T);
    for (const [l, t] of [[0, 0], [L - 1, T - 1], [3, 2]]) {
      const best = result.layers[l].positions[t].top[0];
      const cell = `#lens-map-top td[data-l="${l}"][data-t="${t}"]`;
      assert.equal(await attr(page, cell, 'data-token'), best.token);
      assert.equal(Number(await attr(page, cell, 'data-prob')), best.prob, 'the full probability');
      const tip = (await attr(page, cell, 'title'))!.split('\n');
      assert.equal(tip.length, 1 + 5 + 1, 'where, the top 5, the answer');
      assert.equal(tip[1], `1. ${JSON.stringify(best.token)}  ${percent(best.prob)}`);
      const a = result.layers[l].positions[t].answer!;
      assert.equal(Number(await attr(page, `#lens-map-answer td[data-l="${l}"][data-t="${t}"]`, 'data-rank')), a.rank);
    }
    assert.equal(await attr(page, `#lens-map-top td[data-l="${L - 1}"][data-t="${T - 1}"]`, 'data-token'), ' Africa');
    assert.match(await page.locator('#lens-answer-title').innerText(), /" Africa"/);

    await page.click(`#lens-map-top td[data-l="${L - 1}"][data-t="${T - 1}"]`);
    const rows = page.locator('#lens-cell-top tbody tr');
    assert.equal(await rows.count(), 5);
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: { token: string } }).dataset.token)), result.layers[L - 1].positions[T - 1].top.map((c) => c.token));
    await page.screenshot({ path: path.join(shots, 'lens.png'), fullPage: true });

    // K 3 ≤ the computed 5: a redraw, no new run; K 8: the host is asked.
    await page.fill('#lens-k', '3');
    await page.dispatchEvent('#lens-k', 'change');
    assert.equal(await rows.count(), 3);
    assert.equal((await attr(page, '#lens-map-top td[data-l="0"][data-t="0"]', 'title'))!.split('\n').length, 1 + 3 + 1);
    assert.equal(await posted(page, 'lens/start'), 1);
    await page.fill('#lens-k', '8');
    await page.dispatchEvent('#lens-k', 'change');
    const again = await waitPosted(page, 'lens/start', 1);
    assert.equal(again.top, 8);
    await send(page, { type: 'job/error', requestId: again.requestId, message: 'the worker stopped', cancelled: true });
    assert.equal(await attr(page, '#lens-status', 'data-state'), 'done');
    assert.equal(await page.locator('#error').isVisible(), false, 'a cancel is no error');

    await send(page, { type: 'lens/stale', reason: 'The applied edits changed since this was decoded: Run again.' });
    assert.equal(await page.locator('#lens-stale').isVisible(), true);
    assert.deepEqual(pageErrors.get(page), []);
    await page.close();
  });

  test('exports: CSV of each map, PNG images', async () => {
    const page = await openPanelPage(browser, dir, 'lens');
    await send(page, { type: 'lens/init', request: view.request, model: { name: model.name, n_layers: model.n_layers }, view });
    assert.equal(await posted(page, 'lens/start'), 0, 'a result is there: nothing to run');
    await page.click('#lens-top-csv');
    const top = await waitPosted(page, 'export/save');
    assert.equal(top.suggestedName, 'angola-is-located-in-lens-top.csv');
    const lines = String(top.data).trim().split('\r\n');
    assert.equal(lines.length, 1 + result.layers.length * result.tokens.length * 5);
    const best = result.layers[0].positions[0].top[0];
    assert.equal(lines[1], `0,0,Ang,1,${best.token},${best.id},${best.prob},${best.logprob}`);
    await page.click('#lens-answer-csv');
    const answer = await waitPosted(page, 'export/save', 1);
    assert.equal(String(answer.data).trim().split('\r\n').length, 1 + result.layers.length * result.tokens.length);
    for (const [i, id] of [[2, 'lens-top-png'], [3, 'lens-answer-png']] as const) {
      await page.click(`#${id}`);
      await waitPosted(page, 'export/save', i);
      const magic = await page.evaluate((n) => [...new Uint8Array((globalThis as unknown as PageGlobals).__posted.filter((x) => x.type === 'export/save')[n].data as ArrayBuffer).slice(0, 4)], i);
      assert.deepEqual(magic, [137, 80, 78, 71]);
    }
    await page.close();
  });

  test('errors: a model that failed to load shows in #error without a run; a failed run settles the status', async () => {
    const page = await openPanelPage(browser, dir, 'lens');
    await send(page, { type: 'lens/init', request: { prompt: PROMPT, top: 5 }, model: null, error: 'could not load /nowhere: no config.json' });
    assert.equal(await page.locator('#error').innerText(), 'could not load /nowhere: no config.json');
    assert.equal(await attr(page, '#lens-status', 'data-state'), 'error');
    assert.equal(await posted(page, 'lens/start'), 0);
    await page.click('#lens-run');
    const start = await waitPosted(page, 'lens/start');
    assert.equal(await page.locator('#error').isVisible(), false, 'a new run clears the old error');
    await send(page, { type: 'job/error', requestId: start.requestId, message: 'the prompt is empty: give some text', cancelled: false });
    assert.equal(await attr(page, '#lens-status', 'data-state'), 'error');
    assert.equal(await page.locator('#error').innerText(), 'the prompt is empty: give some text');
    await page.close();
  });
});
