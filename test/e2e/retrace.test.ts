/**
 * Re-trace after an edit in the real VS Code UI (issue 19 item 1): on the Fact panel of CounterFact 20952
 * ("Angola is located in" → Africa), apply a constrained fine-tuning edit at layer 0, then "Re-trace with
 * the edit" draws the original, edited and difference heatmaps for every kind with the edit layer framed.
 * Its own workbench, so it runs alone: `npx tsc -p . && node --test out/test/e2e/retrace.test.js`.
 * Screenshot: test-output/e2e/retrace-maps.png.
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import type { UiSession } from './harness/session';
import { startUiSession } from './harness/session';
import { answerInput, e2eSkipReason, runCommand, screenshot, showLocusContainer, webview } from './harness/workbench';

const skip = e2eSkipReason();
const CASE_ID = 20952;

let session: UiSession | undefined;

before(async () => {
  if (skip) return;
  session = await startUiSession('retrace');
  console.log('e2e setup (ms):', JSON.stringify(session.timings));
}, { timeout: 15 * 60_000 });

after(async () => {
  await session?.close();
});

async function waitDone(view: FrameLocator, status: string, timeout: number): Promise<void> {
  await view.locator(`#${status}[data-state="done"], #${status}[data-state="error"]`).waitFor({ state: 'attached', timeout });
  const state = await view.locator(`#${status}`).getAttribute('data-state');
  if (state !== 'done') assert.fail(`${status} ended "${state}": ${(await view.locator('#error').textContent()) ?? ''}`);
}

async function openFact(p: Page, caseId: number): Promise<FrameLocator> {
  await runCommand(p, 'Locus: Open Fact by Case ID');
  await answerInput(p, /open fact/i, String(caseId));
  const view = webview(p);
  await view.locator('#title', { hasText: `Fact ${caseId}:` }).waitFor({ state: 'attached', timeout: 120_000 });
  await view.locator('#top-k tbody tr[data-token]').first().waitFor({ state: 'attached', timeout: 120_000 });
  return view;
}

test('after an edit, "Re-trace with the edit" shows original, edited and difference maps per kind', { skip, timeout: 10 * 60_000 }, async () => {
  const p = session!.page;
  try {
    await showLocusContainer(p);
    const view = await openFact(p, CASE_ID);
    assert.equal(await view.locator('#retrace-run').isDisabled(), true, 'nothing to re-trace before an edit');
    await view.locator('#edit-method').selectOption('ft');
    await view.locator('#edit-layer').selectOption('0');
    await view.locator('#edit-run').click();
    await waitDone(view, 'edit-status', 5 * 60_000);
    // A flagged edit is not applied until the user says so (issue 18's safety checks).
    if ((await view.locator('#edit-apply-anyway').count()) > 0) {
      await view.locator('#edit-apply-anyway').click();
      await view.locator('#edit-status[data-state="running"]').waitFor({ state: 'attached', timeout: 60_000 });
      await waitDone(view, 'edit-status', 5 * 60_000);
    }
    await view.locator('#retrace-run:not([disabled])').waitFor({ state: 'attached', timeout: 30_000 });
    await view.locator('#retrace-run').click();
    await waitDone(view, 'trace-status', 5 * 60_000);
    assert.equal(await view.locator('#retrace-heatmaps canvas').count(), 9, 'three maps for each of three kinds');
    assert.match((await view.locator('#retrace-summary').textContent()) ?? '', /at layer 0/);
    for (const which of ['original', 'edited', 'difference']) {
      assert.ok((await view.locator(`table[data-retrace="${which}"][data-grid="hidden"] td[data-t][data-l]`).count()) > 0, `${which} table`);
    }
    await view.locator('#retrace-heatmaps').scrollIntoViewIfNeeded();
    await screenshot(p, 'retrace-maps');
  } catch (e) {
    await screenshot(p, 'retrace-failure').catch(() => undefined);
    throw e;
  }
});
