/**
 * Pre-flight edit safety in the real VS Code UI (issue 18 item 5): a disabling ROME edit (CounterFact
 * 17674, "{}'s capital city is" with subject Israel: a first-token subject whose bare prompt key, which
 * ROME's update divides by, is nearly orthogonal to C⁻¹k*: D/d_mlp 0.036, "The Fall of ROME" and r-ROME's
 * mechanism) comes back flagged and NOT applied; the Fact panel shows the checks with the flagged rows
 * highlighted, and "Apply anyway" applies it. Its own workbench, so it runs
 * alone: `npx tsc -p . && node --test out/test/e2e/safety.test.js`. Screenshots: test-output/e2e/safety-*.png.
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import type { UiSession } from './harness/session';
import { startUiSession } from './harness/session';
import { answerInput, e2eSkipReason, runCommand, screenshot, showLocusContainer, treeRows, viewPane, webview } from './harness/workbench';

const skip = e2eSkipReason();
/** "Israel's capital city is"; the subject is the prompt's first token and ROME's denominator tiny. */
const DISABLING_CASE = 17674;
/** Few v steps: the test is about the checks and the panel, not the edit's quality. */
const QUICK_HPARAMS = '{ "v_num_grad_steps": 20 }';

let session: UiSession | undefined;

before(async () => {
  if (skip) return;
  session = await startUiSession('safety');
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

test('a flagged ROME edit is shown with its checks, not applied, and applied on "Apply anyway"', { skip, timeout: 10 * 60_000 }, async () => {
  const p = session!.page;
  try {
    await showLocusContainer(p);
    const view = await openFact(p, DISABLING_CASE);
    await view.locator('#edit-method').selectOption('rome');
    await view.locator('#edit-hparams').fill(QUICK_HPARAMS);
    await view.locator('#edit-run').click();
    await waitDone(view, 'edit-status', 5 * 60_000);

    const flaggedRow = view.locator('table#edit-safety tr[data-check="update-denominator"][data-flagged="true"]');
    await flaggedRow.waitFor({ state: 'attached', timeout: 10_000 });
    const denominator = Number(await flaggedRow.locator('td[data-value]').getAttribute('data-value'));
    assert.ok(Math.abs(denominator - 0.0364) < 2e-3, `D/d_mlp ${denominator}`);
    // The first-token position is flagged because it coincides with that denominator.
    const firstRow = view.locator('table#edit-safety tr[data-check="subject-first-token"][data-flagged="true"]');
    assert.equal(await firstRow.locator('td[data-value]').getAttribute('data-value'), '0');
    await view.locator('#edit-not-applied').waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await view.locator('#edit-not-applied').textContent()) ?? '', /NOT applied/);
    // The other checks are measured (numbers, not placeholders); with 20 v steps they may pass or not.
    for (const name of ['delta-norm-ratio', 'canary-perplexity']) {
      const row = view.locator(`table#edit-safety tr[data-check="${name}"]`);
      assert.ok(Number.isFinite(Number(await row.locator('td[data-value]').getAttribute('data-value'))), `${name} has a value`);
    }
    const edits = await viewPane(p, 'Edits');
    assert.equal(await treeRows(edits, /ROME/).count(), 0, 'the flagged edit is not in the Edits view');
    await view.locator('#edit-safety-box').scrollIntoViewIfNeeded();
    await screenshot(p, 'safety-flagged');

    await view.locator('#edit-apply-anyway').click();
    await view.locator('#edit-status[data-state="running"]').waitFor({ state: 'attached', timeout: 60_000 });
    await waitDone(view, 'edit-status', 5 * 60_000);
    await treeRows(edits, /ROME/).waitFor({ timeout: 30_000 });
    assert.equal(await view.locator('#edit-not-applied').count(), 0);
    assert.equal(await view.locator('table#edit-safety tr[data-check="update-denominator"]').getAttribute('data-flagged'), 'true', 'still reported');
    await view.locator('#edit-safety-box').scrollIntoViewIfNeeded();
    await screenshot(p, 'safety-applied-anyway');
  } catch (e) {
    await screenshot(p, 'safety-failure').catch(() => undefined);
    throw e;
  }
});
