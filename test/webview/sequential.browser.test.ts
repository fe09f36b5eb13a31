/**
 * The Sequential Editing bundle (dist/webview/sequential.js, built by `node esbuild.js webviews`) in
 * headless Chromium under the panels' real HTML shell, fed a real run: three requests edited one after
 * another with FT-1 on the 4-layer golden model by the worker's `sequential/run` over in-memory streams,
 * read back from the folder by the host's reader (sequentialData.ts). Checks the DOM contract
 * (`#seq-table` rows, `#seq-status[data-state]`, the three canvases drawn), the CSV/PNG exports, a
 * pending run starting itself, live progress and Resume. Screenshot: test-output/webview/sequential.png.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { sequentialView } from '../../src/extension/panels/sequentialData';
import type { SequentialRunResultDto, SequentialView } from '../../src/protocol/panels/sequential';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { browserSkipReason, launchChromium, openPanelPage, waitPosted } from '../helpers/panelPage';
import { golden, repoRoot, tempDir } from '../helpers/paths';

const skip = browserSkipReason(['sequential']);
const shots = path.join(repoRoot, 'test-output', 'webview');

interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
type Posted = { type: string; data?: unknown; mime?: string; suggestedName?: string };
type PageGlobals = { __posted: Posted[]; document: { getElementById(id: string): CanvasLike | null } };

/** Host → webview (NaN as JSON cannot carry it, revived in the page). */
async function send(page: Page, message: object): Promise<void> {
  const plain = JSON.parse(JSON.stringify(message, (_k, v) => (typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v)));
  await page.evaluate((m: unknown) => {
    const revive = (v: unknown): unknown => (v === 'NaN' ? NaN : Array.isArray(v) ? v.map(revive) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)])) : v);
    (globalThis as unknown as { postMessage(m: unknown, t: string): void }).postMessage(revive(m), '*');
  }, plain);
}
const attr = (page: Page, selector: string, name: string): Promise<string | null> => page.locator(selector).first().getAttribute(name);
const text = (page: Page, selector: string): Promise<string> => page.locator(selector).first().innerText();

const req = (subject: string, prompt: string, news: string, truth: string) => ({ prompt, subject, target_new: { str: news }, target_true: { str: truth }, paraphrase_prompts: [`${subject} is in`], neighborhood_prompts: ['The Louvre is located in'] });

describe('Sequential Editing panel in headless Chromium', { skip }, () => {
  let browser: Browser;
  let dir: string;
  let worker: InMemoryWorker;
  let run: string;
  let result: SequentialRunResultDto;

  before(async () => {
    dir = tempDir('locus-seq-webview-');
    worker = inMemoryWorker();
    await worker.send('model/load', { model: golden('gpt2-tiny-trained'), threads: 1 });
    const file = path.join(dir, 'requests.json');
    fs.writeFileSync(file, JSON.stringify([
      req('The Eiffel Tower', '{} is located in the city of', 'Rome', 'Paris'),
      req('The Colosseum', '{} is located in the city of', 'Paris', 'Rome'),
      req('Big Ben', '{} is located in the city of', 'Berlin', 'London'),
    ]));
    run = path.join(dir, 'tiny-seq');
    result = await worker.send('sequential/run', { dir: run, method: 'ft', requestsFile: file, batchSize: 1, measureEvery: 1, heldOutTokens: 128, cacheDir: path.join(dir, 'stats') });
    browser = await launchChromium(dir);
    fs.mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await worker?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the worker ran 3 edits; the folder read back has the same points the run answered', () => {
    assert.equal(result.done, 3);
    assert.equal(result.points.length, 4);
    const view = sequentialView(run);
    assert.deepEqual(view.summary, { dir: run, name: 'tiny-seq', model: view.summary.model, method: 'ft', problem: 'error-injection', batchSize: 1, requests: 3, done: 3 });
    assert.deepEqual(view.points.map((p) => [p.edits, p.perplexity]), result.points.map((p) => [p.edits, p.perplexity]));
    assert.ok(view.points[3].weightNorms[0].growth !== 1, 'the edited weight moved');
  });

  test('a finished run: table, three charts drawn, CSV and PNG exports', async () => {
    const page = await openPanelPage(browser, dir, 'sequential', { width: 1280, height: 1100 });
    const view = sequentialView(run);
    await send(page, { type: 'sequential/init', dir: run, view });
    assert.equal(await attr(page, '#seq-status', 'data-state'), 'done');
    assert.match(await text(page, '#seq-status'), /3\/3 edits applied/);
    assert.equal(await page.locator('#seq-resume').isVisible(), false);
    assert.equal(await page.locator('#seq-table tbody tr').count(), 4);
    assert.equal(await text(page, '#seq-table tr[data-edits="3"] td:nth-child(5)'), view.points[3].perplexity.toFixed(2));
    const colours = await page.evaluate(() =>
      ['seq-scores', 'seq-perplexity', 'seq-growth'].map((id) => {
        const c = (globalThis as unknown as PageGlobals).document.getElementById(id)!;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < d.length; i += 16) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return [c.width, seen.size];
      }),
    );
    for (const [width, n] of colours) assert.ok(width > 200 && n > 20, `a chart ${width} px wide with ${n} colours`);
    await page.click('#seq-csv');
    const csv = await waitPosted(page, 'export/save');
    assert.equal(csv.suggestedName, 'tiny-seq-curves.csv');
    assert.equal(String(csv.data).trim().split('\r\n').length, 1 + 4);
    assert.match(String(csv.data), /^edits,batches,rewrite,paraphrase,neighborhood,/);
    await page.click('#seq-perplexity-png');
    await waitPosted(page, 'export/save', 1);
    const png = await page.evaluate(() => [...new Uint8Array((globalThis as unknown as PageGlobals).__posted.filter((x) => x.type === 'export/save')[1].data as ArrayBuffer).slice(0, 4)]);
    assert.deepEqual(png, [137, 80, 78, 71]);
    await page.screenshot({ path: path.join(shots, 'sequential.png'), fullPage: true });
    await page.close();
  });

  test('a new run starts itself; progress and growing curves show; a partial run offers Resume; a stop settles the status', async () => {
    const page = await openPanelPage(browser, dir, 'sequential');
    await send(page, { type: 'sequential/init', dir: run, view: null, running: 'pending' });
    const start = await waitPosted(page, 'sequential/resume');
    assert.equal(await attr(page, '#seq-status', 'data-state'), 'running');
    const full = sequentialView(run);
    const partial: SequentialView = { summary: { ...full.summary, done: 1 }, points: full.points.slice(0, 2) };
    await send(page, { type: 'job/progress', requestId: start.requestId, done: 1, total: 3, message: 'batch 2/3 · ETA 9 s · batch 2/3: editing' });
    await send(page, { type: 'sequential/view', view: partial });
    assert.equal(await page.locator('#seq-table tbody tr').count(), 2);
    assert.match(await text(page, '#seq-status'), /ETA 9 s/);
    assert.equal(await page.locator('#seq-reload').isEnabled(), false);
    await send(page, { type: 'job/error', requestId: start.requestId, message: 'stopped after 1/3 edits', cancelled: true });
    assert.equal(await attr(page, '#seq-status', 'data-state'), 'done');
    assert.equal(await page.locator('#error').isVisible(), false);
    assert.equal(await page.locator('#seq-resume').isVisible(), true);
    await page.click('#seq-resume');
    await waitPosted(page, 'sequential/resume', 1);
    await page.close();
  });
});
