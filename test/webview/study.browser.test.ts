/**
 * The Study bundle (dist/webview/study.js, built by `node esbuild.js webviews`) in headless Chromium
 * under the panels' real HTML shell (html.ts), with a stand-in acquireVsCodeApi, fed a real study:
 * 2 facts × FT-1, FT-5 × layers 0, 1 on the 4-layer golden model, run and analyzed by the worker's
 * handlers over in-memory streams, packed by the host's studyView. Checks the DOM contract
 * (`#r2-table` cells, `#study-status[data-state]`, canvases `#curves` / `#scatter`), the exports and
 * Resume. The screenshot goes to test-output/webview/study.png.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { studyView } from '../../src/extension/panels/studyData';
import type { StudyAnalysisDto } from '../../src/protocol/dto';
import type { EngineMethod, EngineParams, EngineResult } from '../../src/protocol/engine';
import type { StudyView } from '../../src/protocol/panels/study';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { browserSkipReason, launchChromium, openPanelPage, waitPosted } from '../helpers/panelPage';
import { golden, repoRoot, tempDir } from '../helpers/paths';

const skip = browserSkipReason(['study']);
const shots = path.join(repoRoot, 'test-output', 'webview');

type Posted = { type: string; requestId?: string; mime?: string; suggestedName?: string; data?: unknown } & Record<string, unknown>;
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
type PageGlobals = { __posted: Posted[]; document: { getElementById(id: string): CanvasLike | null } };

/** Host → webview, with the points' columns rebuilt as the typed arrays structured clone delivers. */
async function send(page: Page, message: { type: string; view?: StudyView | null } & Record<string, unknown>): Promise<void> {
  const plain = JSON.parse(JSON.stringify(message, (_k, v) => (ArrayBuffer.isView(v) ? { __typed: v.constructor.name, values: Array.from(v as Float32Array, (x) => (Number.isNaN(x) ? 'NaN' : x)) } : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v)));
  await page.evaluate((m: unknown) => {
    const revive = (v: unknown): unknown => {
      if (v === 'NaN') return NaN;
      if (Array.isArray(v)) return v.map(revive);
      if (v && typeof v === 'object') {
        const o = v as { __typed?: string; values?: unknown[] };
        if (o.__typed) {
          const Typed = (globalThis as unknown as Record<string, new (xs: number[]) => unknown>)[o.__typed];
          return new Typed(o.values!.map((x) => (x === 'NaN' ? NaN : (x as number))));
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
      }
      return v;
    };
    (globalThis as unknown as { postMessage(m: unknown, t: string): void }).postMessage(revive(m), '*');
  }, plain);
}

const attr = (page: Page, selector: string, name: string): Promise<string | null> => page.locator(selector).first().getAttribute(name);
const text = (page: Page, selector: string): Promise<string> => page.locator(selector).first().innerText();

describe('Study panel in headless Chromium', { skip }, () => {
  let browser: Browser;
  let dir: string;
  let worker: InMemoryWorker;
  let analysis: StudyAnalysisDto;
  const run = <M extends EngineMethod>(m: M, p: EngineParams<M>): Promise<EngineResult<M>> => worker.send(m, p);

  before(async () => {
    dir = tempDir('locus-study-webview-');
    worker = inMemoryWorker();
    await run('model/load', { model: golden('gpt2-tiny-trained'), threads: 1 });
    const study = path.join(dir, 'tiny-study');
    await run('study/run', { dir: study, cases: '20952,3648', methods: ['ft', 'ft5'], layers: [0, 1], cacheDir: path.join(dir, 'stats') });
    analysis = await run('study/analyze', { dir: study });
    browser = await launchChromium(dir);
    fs.mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await worker?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a finished study: the R² table, the curves and the scatter drawn, CSV and PNG exports', async () => {
    const page = await openPanelPage(browser, dir, 'study', { width: 1280, height: 1000 });
    const view = studyView(analysis);
    // No analysis yet: the panel asks for one.
    await send(page, { type: 'study/init', dir: analysis.dir, view: null, running: {} });
    const reload = await waitPosted(page, 'study/reload');
    assert.equal(await attr(page, '#study-status', 'data-state'), 'running');
    await send(page, { type: 'study/analysis', requestId: reload.requestId!, view });
    await send(page, { type: 'job/done', requestId: reload.requestId! });
    assert.equal(await attr(page, '#study-status', 'data-state'), 'done');
    assert.match(await text(page, '#study-status'), /8 \/ 8 edits/);
    assert.equal(await page.locator('#study-resume').isVisible(), false);

    assert.equal(await page.locator('#r2-table tbody tr').count(), analysis.rows.length);
    assert.equal(analysis.rows.length, 2 * 4, 'ft and ft5 × four scores');
    for (const r of analysis.rows) {
      for (const col of ['r2Layer', 'r2LayerTracing', 'r2Gain', 'pValue'] as const) {
        const cell = page.locator(`#r2-table td[data-method="${r.method}"][data-problem="${r.problem}"][data-metric="${r.metric}"][data-col="${col}"]`);
        assert.equal(await cell.count(), 1, `${r.method} ${r.metric} ${col}`);
        const v = r[col] as number | null;
        const shown = await cell.getAttribute('data-value');
        if (v === null) assert.equal(shown, '');
        else assert.equal(Number(shown), v);
      }
    }
    const ft = analysis.rows.find((r) => r.method === 'ft' && r.metric === 'rewrite')!;
    assert.equal(await text(page, '#r2-table td[data-method="ft"][data-metric="rewrite"][data-col="r2Layer"]'), ft.r2Layer === null ? '—' : ft.r2Layer.toFixed(3));

    // Both charts drew: many distinct colours on each canvas.
    const colours = await page.evaluate(() =>
      ['curves', 'scatter'].map((id) => {
        const c = (globalThis as unknown as PageGlobals).document.getElementById(id)!;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < d.length; i += 16) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return [c.width, seen.size];
      }),
    );
    for (const [width, n] of colours) assert.ok(width > 200 && n > 20, `a chart ${width} px wide with ${n} colours`);
    assert.equal(await page.locator('#layer-table tbody tr').count(), 2 * 2, 'per-layer rows of ft and ft5');

    await page.click('#r2-csv');
    const csv = await waitPosted(page, 'export/save');
    assert.equal(csv.mime, 'text/csv');
    assert.equal(csv.suggestedName, 'tiny-study-r2.csv');
    assert.match(String(csv.data), /^method,problem,metric,protocol,n,r2_layer,r2_layer_tracing,r2_gain,r2_tracing,p_value\r\nft,error-injection,rewrite,hase-normalized,4,/);
    await page.click('#scatter-csv');
    const points = await waitPosted(page, 'export/save', 1);
    assert.equal(String(points.data).trim().split('\r\n').length, 1 + 8);
    await page.click('#curves-png');
    await waitPosted(page, 'export/save', 2);
    const png = await page.evaluate(() => {
      const m = (globalThis as unknown as PageGlobals).__posted.filter((x) => x.type === 'export/save')[2];
      return { mime: m.mime, head: [...new Uint8Array(m.data as ArrayBuffer).slice(0, 4)] };
    });
    assert.deepEqual(png, { mime: 'image/png', head: [137, 80, 78, 71] });

    // Another score redraws from the same data and is remembered in the webview state.
    await page.selectOption('#pick-metric', 'neighborhood');
    assert.match((await page.locator('#layer-table thead').textContent()) ?? '', /Neighborhood score/);
    await page.screenshot({ path: path.join(shots, 'study.png'), fullPage: true });
    await page.close();
  });

  test('a partial study offers Resume; progress shows, a stop settles the status', async () => {
    const page = await openPanelPage(browser, dir, 'study', { width: 1280, height: 1000 });
    const full = studyView(analysis);
    const partial: StudyView = { ...full, summary: { ...full.summary, rows: 5, expected: 8 } };
    await send(page, { type: 'study/init', dir: analysis.dir, view: partial, running: {} });
    assert.equal(await attr(page, '#study-status', 'data-state'), 'done');
    assert.match(await text(page, '#study-status'), /5 \/ 8 edits — partial/);
    assert.equal(await page.locator('#study-resume').isVisible(), true);
    await page.click('#study-resume');
    const resume = await waitPosted(page, 'study/resume');
    await send(page, { type: 'job/progress', requestId: resume.requestId!, done: 7, total: 8, message: '7/8 edits · ETA 9 s · case 3648: ft5 error-injection layer 1' });
    assert.match(await text(page, '#study-status'), /ETA 9 s · case 3648: ft5 error-injection layer 1 — 7 \/ 8/);
    assert.equal(await page.locator('#study-reload').isEnabled(), false);
    await send(page, { type: 'job/error', requestId: resume.requestId!, message: 'stopped after 7/8 edits; run the study again to resume', cancelled: true });
    assert.equal(await attr(page, '#study-status', 'data-state'), 'done');
    assert.equal(await page.locator('#error').isVisible(), false);

    // A shard: no Resume, the note says how.
    const shard: StudyView = { ...partial, summary: { ...partial.summary, shard: '1/4', resumeNote: 'This is shard 1/4: resume it with the CLI' } };
    await send(page, { type: 'study/analysis', requestId: 'x', view: shard });
    assert.equal(await page.locator('#study-resume').isVisible(), false);
    assert.match(await text(page, '#study-note'), /shard 1\/4/);

    // A folder that cannot be read: the message, and the state says error.
    await send(page, { type: 'study/init', dir: '/nowhere', view: null, error: '/nowhere is not a study folder (no manifest.json)', running: {} });
    assert.equal(await attr(page, '#study-status', 'data-state'), 'error');
    assert.match(await text(page, '#error'), /not a study folder/);
    await page.close();
  });
});
