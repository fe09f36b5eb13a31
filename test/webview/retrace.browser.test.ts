/**
 * The Fact panel's "Re-trace with the edit" (issue 19 item 1) in headless Chromium under the panel's
 * real HTML shell, fed a real `trace/retrace` of the embedded model with a real applied edit (the
 * worker's handlers over in-memory streams; constrained fine-tuning, Angola → Europe, at layer 0): the
 * button is off until an edit is applied; the answer draws original, edited and difference heatmaps per
 * kind (nine canvases) with every cell also in a table; the edit layer is named; fact/init brings it back
 * after a reload. The screenshot of the
 * three maps goes to test-output/webview/retrace.png.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { factFromRecord, modelSummary, packRetrace } from '../../src/extension/panels/wire';
import type { DatasetSummary, ModelInfo } from '../../src/protocol/dto';
import type { RetraceResultDto } from '../../src/protocol/engine';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { browserSkipReason, launchChromium, openPanelPage, pageErrors, waitPosted } from '../helpers/panelPage';
import { repoRoot, tempDir } from '../helpers/paths';

const skip = browserSkipReason(['fact']);
const shots = path.join(repoRoot, 'test-output', 'webview');
/** Angola → Africa: a fact of the bundled sample the embedded model knows. */
const CASE_ID = 20952;

/** Host → webview, with every grid as a Float32Array as structured clone delivers it. */
async function send(page: Page, message: object): Promise<void> {
  const plain = JSON.parse(JSON.stringify(message, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v))) as Record<string, unknown>;
  await page.evaluate((m: Record<string, unknown>) => {
    type G = { scores: number[] };
    const pack = (gs: G[]): G[] => gs.map((g) => ({ ...g, scores: new Float32Array(g.scores) as unknown as number[] }));
    const r = m.retrace as { edited: { grids: G[] }; original: { grids: G[] }; difference: G[] } | undefined;
    if (r) {
      r.edited.grids = pack(r.edited.grids);
      r.original.grids = pack(r.original.grids);
      r.difference = pack(r.difference);
    }
    (globalThis as unknown as { postMessage(m: unknown, t: string): void }).postMessage(m, '*');
  }, plain);
}

describe('Fact panel: re-trace with the applied edit (headless Chromium)', { skip }, () => {
  let browser: Browser;
  let dir: string;
  let worker: InMemoryWorker;
  let model: ModelInfo;
  let dataset: DatasetSummary;
  let retrace: RetraceResultDto;
  let editId: string;

  before(async () => {
    worker = inMemoryWorker();
    model = await worker.send('model/load', { model: 'default', threads: 1 });
    dataset = await worker.send('dataset/load', {});
    const fact = factFromRecord(dataset.records.find((r) => r.case_id === CASE_ID)!);
    const cases = [{ prompt: '{} is located in', subject: 'Angola', target_new: { str: 'Europe' }, target_true: { str: 'Africa' } }];
    editId = (await worker.send('edit/run', { method: 'ft', layer: 0, cases, force: true })).id;
    retrace = await worker.send('trace/retrace', { prompt: fact.prompt, subject: fact.subject, kinds: ['hidden', 'mlp', 'attn'], window: 4 });
    dir = tempDir('locus-webview-retrace-');
    browser = await launchChromium(dir);
    fs.mkdirSync(shots, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await worker?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('original, edited and difference maps per kind, edit layer named, every cell in a table', async () => {
    const page = await openPanelPage(browser, dir, 'fact', { width: 1400, height: 1000 });
    const fact = factFromRecord(dataset.records.find((r) => r.case_id === CASE_ID)!);
    await send(page, { type: 'fact/init', fact, model: modelSummary(model), applied: [], running: {}, probe: { tokens: [], top: [] } });
    assert.equal(await page.locator('#retrace-run').isDisabled(), true, 'no edit applied: nothing to re-trace');
    await send(page, { type: 'edit/applied', applied: [editId] });
    assert.equal(await page.locator('#retrace-run').isDisabled(), false);

    await page.click('#retrace-run');
    const started = await waitPosted(page, 'retrace/start');
    await send(page, { type: 'retrace/result', requestId: started.requestId, retrace: packRetrace(retrace) });
    await send(page, { type: 'job/done', requestId: started.requestId });
    assert.equal(await page.locator('#trace-status').getAttribute('data-state'), 'done');

    assert.equal(await page.locator('#retrace-heatmaps canvas').count(), 9, 'three maps for each of three kinds');
    assert.match((await page.locator('#retrace-summary').textContent()) ?? '', /ft at layer 0/);
    const T = retrace.tokens.length;
    const L = model.n_layers;
    const t = retrace.subjectRange[1] - 1;
    for (const kind of ['hidden', 'mlp', 'attn'] as const) {
      for (const [which, grid] of [['original', retrace.original.grids[kind]!], ['edited', retrace.grids[kind]!], ['difference', retrace.difference.grids[kind]!]] as const) {
        const cells = page.locator(`table[data-retrace="${which}"][data-grid="${kind}"] td[data-t][data-l]`);
        assert.equal(await cells.count(), T * L, `${which} ${kind} table size`);
        const cell = page.locator(`table[data-retrace="${which}"][data-grid="${kind}"] td[data-t="${t}"][data-l="0"]`);
        assert.equal(Number(await cell.getAttribute('data-value')), Math.fround(grid.scores[t][0]), `${which} ${kind} [${t}][0]`);
      }
    }
    // The edit moved the last subject token's restored state at the edited layer: the difference is not all zero.
    assert.notEqual(retrace.difference.grids.hidden!.scores[t][0], 0);
    await page.locator('#retrace').screenshot({ path: path.join(shots, 'retrace.png') });

    // A reloaded webview gets the re-trace back with the panel's state (fact/init), as the trace and the edit.
    await send(page, { type: 'fact/init', fact, model: modelSummary(model), applied: [editId], running: {}, probe: { tokens: [], top: [] }, retrace: packRetrace(retrace) });
    assert.equal(await page.locator('#retrace-heatmaps canvas').count(), 9, 'the re-trace is drawn again from fact/init');
    assert.deepEqual(pageErrors.get(page), []);
  });
});
