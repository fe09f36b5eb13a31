/**
 * The protocol labels and selects of the Fact and Compare panels in headless Chromium (the real
 * bundles, dist/webview/*.js), fed real edits of the embedded model from the worker's handlers:
 * "Google Patents → Microsoft" (case 8024) by ROME at layer 3, where the protocols disagree (the
 * Compare panel's right side is the same edit with its generation paraphrase score raised to 1).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { factFromRecord, modelSummary } from '../../src/extension/panels/wire';
import type { DatasetSummary, EditResultDto, MetricProtocolDto, ModelInfo } from '../../src/protocol/dto';
import type { EngineMethod, EngineParams, EngineResult } from '../../src/protocol/engine';
import type { EditSide } from '../../src/protocol/panels/compare';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { browserSkipReason, launchChromium, openPanelPage, pageErrors, waitPosted } from '../helpers/panelPage';
import { tempDir } from '../helpers/paths';

const skip = browserSkipReason(['fact', 'compare']);
const CASE_ID = 8024;
const PROTOCOLS: MetricProtocolDto[] = ['hase-normalized', 'rome-probability', 'token-accuracy', 'generation'];

async function send(page: Page, message: object): Promise<void> {
  await page.evaluate((m: unknown) => (globalThis as unknown as { postMessage(m: unknown, t: string): void }).postMessage(m, '*'), JSON.parse(JSON.stringify(message)) as unknown);
}
const values = (page: Page, table: string): Promise<Array<string | null>> => page.locator(`${table} td[data-metric]`).evaluateAll((cells) => cells.map((c) => c.getAttribute('data-value')));
/** A score as the table's data-value holds it ('' where it does not apply). */
const asValue = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? String(v) : v === null ? '' : String(v));

describe('protocol labels and selects in the panels', { skip }, () => {
  let browser: Browser;
  let dir: string;
  let worker: InMemoryWorker;
  let model: ModelInfo;
  let dataset: DatasetSummary;
  let layer3: EditResultDto;
  const run = <M extends EngineMethod>(m: M, p: EngineParams<M>): Promise<EngineResult<M>> => worker.send(m, p);

  before(async () => {
    worker = inMemoryWorker();
    model = await run('model/load', { model: 'default', threads: 1 });
    dataset = await run('dataset/load', {});
    layer3 = await run('edit/run', { method: 'rome', caseIds: [CASE_ID], layer: 3 });
    await run('edit/revertAll', {});
    dir = tempDir('locus-webview-protocols-');
    browser = await launchChromium(dir);
  });
  after(async () => {
    await browser?.close();
    await worker?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the worker sends every protocol, tagged', () => {
    assert.deepEqual(Object.keys(layer3.metricsByProtocol ?? {}), PROTOCOLS);
    for (const p of PROTOCOLS) assert.equal(layer3.metricsByProtocol![p].protocol, p);
    assert.equal(layer3.metrics.protocol, 'hase-normalized');
  });

  test('Fact panel: "Scores by protocol" switches between the four protocols', async () => {
    const page = await openPanelPage(browser, dir, 'fact');
    const fact = factFromRecord(dataset.records.find((r) => r.case_id === CASE_ID)!);
    await send(page, { type: 'fact/init', fact, model: modelSummary(model), applied: [], running: {} });
    await waitPosted(page, 'probe/start');
    await page.selectOption('#edit-method', 'rome');
    await page.click('#edit-run');
    const start = await waitPosted(page, 'edit/start');
    await send(page, { type: 'edit/result', requestId: start.requestId, edit: layer3 });
    await send(page, { type: 'job/done', requestId: start.requestId });
    assert.deepEqual(await page.locator('#edit-protocol-select option').evaluateAll((o) => o.map((x) => (x as unknown as { value: string }).value)), PROTOCOLS);
    assert.equal(await page.locator('#edit-protocol-scores').getAttribute('data-protocol'), 'hase-normalized');
    assert.match(await page.locator('table#edit-metrics').innerText(), /rewrite score \(hase-normalized\)/);
    for (const p of PROTOCOLS) {
      await page.selectOption('#edit-protocol-select', p);
      assert.equal(await page.locator('#edit-protocol-scores').getAttribute('data-protocol'), p);
      const m = layer3.metricsByProtocol![p];
      assert.deepEqual(await values(page, '#edit-protocol-scores'), [m.rewrite, m.paraphrase, m.neighborhood, m.overall].map(asValue));
      assert.match(await page.locator('#edit-protocol-scores').innerText(), new RegExp(`rewrite · ${p}`));
    }
    assert.deepEqual(pageErrors.get(page), []);
    await page.close();
  });

  test('Compare panel: the select re-draws the comparison under the chosen protocol', async () => {
    const fact = factFromRecord(dataset.records.find((r) => r.case_id === CASE_ID)!);
    const side = (id: string, e: EditResultDto): EditSide => ({ file: `/runs/${id}.json`, label: `Google Patents ${id}`, created: '2025-01-01T00:00:00.000Z', data: { fact, model: modelSummary(model), form: { method: e.method, problem: e.problem }, edit: { ...e, id } } });
    const left = side('e1', layer3);
    const by = layer3.metricsByProtocol!;
    const layer1 = { ...layer3, metricsByProtocol: { ...by, generation: { ...by.generation, paraphrase: 1 } } };
    const right = side('e2', layer1);
    const page = await openPanelPage(browser, dir, 'compare');
    await send(page, { type: 'compare/init', model: modelSummary(model), runs: [left, right].map((s) => ({ file: s.file, label: s.label, created: s.created })), cases: [], left, right, caseId: CASE_ID, running: {} });
    assert.equal(await page.locator('#compare-table').getAttribute('data-protocol'), 'hase-normalized');
    await page.selectOption('#compare-protocol', 'generation');
    assert.equal(await page.locator('#compare-table').getAttribute('data-protocol'), 'generation');
    const diff = await page.locator('#compare-table td[data-side="diff"][data-metric="paraphrase"]').getAttribute('data-value');
    const g = (e: EditResultDto) => e.metricsByProtocol!.generation.paraphrase;
    assert.equal(Number(diff), g(layer1) - g(layer3));
    assert.match(await page.locator('#compare-table').innerText(), /paraphrase · generation/);
    assert.deepEqual(pageErrors.get(page), []);
    await page.close();
  });
});
