/**
 * The Study panel on a study run through the worker with localization patching (issue 19 item 2 in the
 * panel): the header names the localization, the charts draw, as for a noise study.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { studyView } from '../../src/extension/panels/studyData';
import type { StudyAnalysisDto } from '../../src/protocol/dto';
import type { EngineMethod, EngineParams, EngineResult } from '../../src/protocol/engine';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { browserSkipReason, launchChromium, openPanelPage, waitPosted } from '../helpers/panelPage';
import { tempDir } from '../helpers/paths';

const skip = browserSkipReason(['study']);

/** Host → webview; the view's typed arrays cross as plain arrays and are rebuilt as structured clone delivers them. */
async function send(page: Page, message: Record<string, unknown>): Promise<void> {
  const plain = JSON.parse(JSON.stringify(message, (_k, v) => (ArrayBuffer.isView(v) ? { __typed: v.constructor.name, values: Array.from(v as Float32Array, (x) => (Number.isNaN(x) ? 'NaN' : x)) } : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v)));
  await page.evaluate((m: unknown) => {
    const revive = (v: unknown): unknown => {
      if (v === 'NaN') return NaN;
      if (Array.isArray(v)) return v.map(revive);
      if (v && typeof v === 'object') {
        const o = v as { __typed?: string; values?: unknown[] };
        if (o.__typed) return new (globalThis as unknown as Record<string, new (xs: number[]) => unknown>)[o.__typed](o.values!.map((x) => (x === 'NaN' ? NaN : (x as number))));
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
      }
      return v;
    };
    (globalThis as unknown as { postMessage(m: unknown, t: string): void }).postMessage(revive(m), '*');
  }, plain);
}

describe('Study panel: a patching study (headless Chromium)', { skip }, () => {
  let browser: Browser;
  let dir: string;
  let worker: InMemoryWorker;
  let analysis: StudyAnalysisDto;
  const run = <M extends EngineMethod>(m: M, p: EngineParams<M>): Promise<EngineResult<M>> => worker.send(m, p);

  before(async () => {
    dir = tempDir('locus-study-patching-webview-');
    worker = inMemoryWorker();
    await run('model/load', { model: 'default' });
    const study = path.join(dir, 'patching-study');
    // Two facts the embedded model knows, each with a same-relation counterfactual of its subject's token length (test/model/patchingStudy.test.ts).
    await run('study/run', { dir: study, cases: '20952,3648', methods: ['ft'], layers: [0, 1], localization: 'patching', cacheDir: path.join(dir, 'stats') });
    analysis = await run('study/analyze', { dir: study });
    browser = await launchChromium(dir);
  });
  after(async () => {
    await browser?.close();
    await worker?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the header says activation patching; the table and charts are drawn as for noise', async () => {
    const page = await openPanelPage(browser, dir, 'study', { width: 1280, height: 1000 });
    const view = studyView(analysis);
    assert.equal(view.summary.localization, 'patching');
    await send(page, { type: 'study/init', dir: analysis.dir, view: null, running: {} });
    const reload = await waitPosted(page, 'study/reload');
    await send(page, { type: 'study/analysis', requestId: reload.requestId!, view });
    await send(page, { type: 'job/done', requestId: reload.requestId! });
    assert.match(await page.locator('#study-meta').first().innerText(), /localization: activation patching/);
    assert.match(await page.locator('#study-status').first().innerText(), /4 \/ 4 edits/);
    assert.equal(await page.locator('#r2-table tbody tr').count(), analysis.rows.length);
    const widths = await page.evaluate(() => ['curves', 'scatter'].map((id) => (globalThis as unknown as { document: { getElementById(id: string): { width: number } | null } }).document.getElementById(id)?.width ?? 0));
    for (const w of widths) assert.ok(w > 200, `a chart ${w} px wide`);
  });
});
