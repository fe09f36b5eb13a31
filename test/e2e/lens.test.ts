/**
 * The Logit Lens panel in the real VS Code UI (issue 19 item 3): "Locus: Logit Lens…" with the prompt
 * "Angola is located in" opens the map beside the editor; the embedded model's last layer at the last
 * position says " Africa" (88%, `locus lens --prompt "Angola is located in"`); typing the answer in the
 * panel adds its rank map, rank 1 there. Its own workbench, so it runs alone:
 * `npx tsc -p . && node --test out/test/e2e/lens.test.js`. Screenshot: test-output/e2e/logit-lens.png.
 */
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { UiSession } from './harness/session';
import { startUiSession } from './harness/session';
import { answerInput, e2eSkipReason, runCommand, screenshot, webview } from './harness/workbench';

const skip = e2eSkipReason();

let session: UiSession | undefined;

before(async () => {
  if (skip) return;
  session = await startUiSession('lens');
  console.log('e2e setup (ms):', JSON.stringify(session.timings));
}, { timeout: 15 * 60_000 });

after(async () => {
  await session?.close();
});

test('Logit Lens: the map of a prompt, its last cell the model\'s answer; an answer typed in the panel gets its rank map', { skip, timeout: 6 * 60_000 }, async () => {
  const p = session!.page;
  try {
    await runCommand(p, 'Locus: Logit Lens');
    await answerInput(p, /Logit Lens/, 'Angola is located in');
    const view = webview(p);
    const cells = view.locator('#lens-map-top td[data-l][data-t]');
    await cells.first().waitFor({ state: 'attached', timeout: 180_000 });
    const layers = await view.locator('#lens-map-top tbody tr').count();
    const positions = await view.locator('#lens-map-top thead th[data-t]').count();
    assert.equal(positions, 5, 'Ang|ola| is| located| in');
    const last = view.locator(`#lens-map-top td[data-l="${layers - 1}"][data-t="${positions - 1}"]`);
    assert.equal(await last.getAttribute('data-token'), ' Africa');
    assert.ok(Number(await last.getAttribute('data-prob')) > 0.5);

    await view.locator('#lens-answer').fill('Africa');
    await view.locator('#lens-answer').press('Enter');
    const rank = view.locator(`#lens-map-answer td[data-l="${layers - 1}"][data-t="${positions - 1}"]`);
    await rank.waitFor({ state: 'attached', timeout: 120_000 });
    assert.equal(await rank.getAttribute('data-rank'), '1');
    assert.equal(await view.locator('#lens-status').getAttribute('data-state'), 'done');
    await screenshot(p, 'logit-lens');
  } catch (e) {
    await screenshot(p, 'logit-lens-failure').catch(() => undefined);
    throw e;
  }
});
