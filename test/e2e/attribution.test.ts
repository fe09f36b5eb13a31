/**
 * The attribution preview in the real VS Code UI (issue 19 item 4): on the Fact panel of CounterFact 20952
 * ("Angola is located in" → Africa), a trace with many samples (so the exact grid takes a while) first
 * draws the attribution-patching estimate, labelled "approximate (attribution patching)" with hatched
 * cells; exact cells replace it as they finish, and the complete grid drops the label. "Logit lens" then
 * opens the lens of the fact's prompt. Its own workbench, so it runs alone:
 * `npx tsc -p . && node --test out/test/e2e/attribution.test.js`. Screenshot: test-output/e2e/attribution-preview.png.
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import type { UiSession } from './harness/session';
import { startUiSession } from './harness/session';
import { answerInput, e2eSkipReason, runCommand, screenshot, showLocusContainer, webview } from './harness/workbench';

const skip = e2eSkipReason();
const CASE_ID = 20952;

let session: UiSession | undefined;

before(async () => {
  if (skip) return;
  session = await startUiSession('attribution');
  console.log('e2e setup (ms):', JSON.stringify(session.timings));
}, { timeout: 15 * 60_000 });

after(async () => {
  await session?.close();
});

test('the trace grid is previewed (approximate, hatched), replaced by the exact cells, then the label goes; Logit lens opens', { skip, timeout: 10 * 60_000 }, async () => {
  const p = session!.page;
  try {
    await showLocusContainer(p);
    await runCommand(p, 'Locus: Open Fact by Case ID');
    await answerInput(p, /open fact/i, String(CASE_ID));
    const view: FrameLocator = webview(p);
    await view.locator('#title', { hasText: `Fact ${CASE_ID}:` }).waitFor({ state: 'attached', timeout: 120_000 });
    await view.locator('#top-k tbody tr[data-token]').first().waitFor({ state: 'attached', timeout: 120_000 });
    assert.equal(await view.locator('#trace-preview').isChecked(), true);
    // 400 noised copies: the exact grid takes long enough on the embedded model to see the preview.
    await view.locator('#trace-samples').fill('400');
    await view.locator('#trace-run').click();
    // 400 samples may price the grid above locus.confirmCostAboveSeconds (30 s; a calibrated estimate on a
    // quiet machine says ~64 s): the cost preview's modal then asks first, and Start runs the grid.
    const startButton = p.locator('.monaco-dialog-box .monaco-button', { hasText: /^Start$/ });
    const approx = view.locator('#trace-approx:not([hidden])');
    const asked = await Promise.race([
      startButton.waitFor({ state: 'visible', timeout: 120_000 }).then(() => true),
      approx.waitFor({ state: 'attached', timeout: 120_000 }).then(() => false),
    ]);
    if (asked) {
      assert.match((await p.locator('.monaco-dialog-box').textContent()) ?? '', /This trace grid: 3 kinds × 8 layers × \d+ tokens = \d+ cells × 400 samples/);
      await startButton.click();
    }
    await approx.waitFor({ state: 'attached', timeout: 120_000 });
    assert.match((await view.locator('#trace-approx').textContent()) ?? '', /approximate \(attribution patching\)/);
    assert.equal(await view.locator('#trace-heatmaps canvas').count(), 3);
    assert.ok((await view.locator('table[data-grid] td.approx').count()) > 0, 'estimated cells are marked');
    await view.locator('#trace').scrollIntoViewIfNeeded();
    await screenshot(p, 'attribution-preview');

    await view.locator('#trace-status[data-state="done"], #trace-status[data-state="error"]').waitFor({ state: 'attached', timeout: 5 * 60_000 });
    assert.equal(await view.locator('#trace-status').getAttribute('data-state'), 'done', (await view.locator('#error').textContent()) ?? '');
    assert.equal(await view.locator('#trace-approx').isHidden(), true, 'the complete grid has no "approximate" label');
    assert.equal(await view.locator('table[data-grid] td.approx').count(), 0);

    await view.locator('#trace-lens').click();
    await p.locator('.tabs-container .tab', { hasText: 'Lens:' }).first().waitFor({ timeout: 120_000 });
  } catch (e) {
    await screenshot(p, 'attribution-failure').catch(() => undefined);
    throw e;
  }
});
