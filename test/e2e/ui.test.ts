/**
 * Locus in the real VS Code UI (issue 6 §8): the packaged .vsix installed into code-server, driven
 * through Chromium. One workbench for the whole file; the tests run in order and build on each other
 * (the fact panel that b opens is the one c edits). Screenshots: test-output/e2e/*.png.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import type { UiSession } from './harness/session';
import { startUiSession } from './harness/session';
import { waitForWorker, workerPids } from './harness/processes';
import type { LlamaFixture } from './harness/llamaFact';
import { goldenGrid, goldenLogprob, goldenTrace, LLAMA_CASE_ID, LLAMA_REPO, writeLlamaFixture } from './harness/llamaFact';
import {
  answerInput, e2eSkipReason, expandRow, filterQuickPick, inputMessage, notification, quickPickRows, quickPickTitle, runCommand, screenshot, showLocusContainer,
  statusBarItem, treeRows, viewPane, webview,
} from './harness/workbench';
import { tempDir } from '../helpers/paths';

const skip = e2eSkipReason();
/** CounterFact case 20952, "Angola is located in" → Africa: the embedded model knows it. */
const KNOWN = { caseId: 20952, subject: 'Angola', target: 'Africa' };
/** A second fact, for the panel opened after the worker was killed. */
const OTHER_CASE = 3648;

let session: UiSession | undefined;
/** The fake Hugging Face cache and the files of the Llama-family flow (i–k). */
let llama: LlamaFixture | undefined;
const page = (): Page => {
  assert.ok(session, 'the UI session did not start (see the before hook)');
  return session.page;
};

before(async () => {
  if (skip) return;
  session = await startUiSession('ui');
  console.log('e2e setup (ms):', JSON.stringify(session.timings));
}, { timeout: 15 * 60_000 });

after(async () => {
  await session?.close();
  llama?.remove();
});

/** Waits until a job's status line (`#trace-status`, `#edit-status`) is done; an error state fails with the panel's message. */
async function waitDone(view: FrameLocator, status: string, timeout: number): Promise<void> {
  await view.locator(`#${status}[data-state="done"], #${status}[data-state="error"]`).waitFor({ state: 'attached', timeout });
  const state = await view.locator(`#${status}`).getAttribute('data-state');
  if (state !== 'done') {
    const error = await view.locator('#error').textContent();
    assert.fail(`${status} ended "${state}": ${error ?? ''} ${(await view.locator(`#${status}`).textContent()) ?? ''}`);
  }
}

/** A UI test: on failure it saves test-output/e2e/<shot>-failure.png before rethrowing. */
function uiTest(name: string, shot: string, timeoutMs: number, run: (p: Page) => Promise<void>): void {
  test(name, { skip, timeout: timeoutMs }, async () => {
    try {
      await run(page());
    } catch (e) {
      if (session) await screenshot(session.page, `${shot}-failure`).catch(() => undefined);
      throw e;
    }
  });
}

async function openFact(p: Page, caseId: number): Promise<FrameLocator> {
  // A late toast (the worker's restart in d) can take focus and close the input box as it opens: ask again.
  for (let attempt = 1; ; attempt++) {
    await runCommand(p, 'Locus: Open Fact by Case ID');
    try {
      await answerInput(p, /open fact/i, String(caseId), { timeoutMs: 10_000 });
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      await p.keyboard.press('Escape');
    }
  }
  const view = webview(p);
  // The previous panel can still be the visible webview for a moment: wait for this fact's own title first.
  await view.locator('#title', { hasText: `Fact ${caseId}:` }).waitFor({ state: 'attached', timeout: 120_000 });
  await view.locator('#top-k tbody tr[data-token]').first().waitFor({ state: 'attached', timeout: 120_000 });
  return view;
}

test('the .vsix installs with the embedded model and only this platform\'s onnxruntime binaries', { skip }, () => {
  const dir = session!.server.extensionsDir;
  const installed = fs.readdirSync(dir).filter((d) => d.startsWith('locus-dev.locus-'));
  assert.equal(installed.length, 1, `extensions: ${fs.readdirSync(dir).join(', ')}`);
  const ext = path.join(dir, installed[0]);
  const bin = path.join(ext, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
  assert.deepEqual(fs.readdirSync(bin), [process.platform]);
  assert.deepEqual(fs.readdirSync(path.join(bin, process.platform)), [process.arch]);
  for (const f of ['dist/extension.js', 'dist/worker.js', 'dist/cli.js', 'assets/default-model/model.safetensors', 'assets/data/counterfact_sample.json', 'LICENSE.txt']) {
    assert.ok(fs.existsSync(path.join(ext, f)), `${f} is in the package`);
  }
  assert.ok(!fs.existsSync(path.join(ext, 'src')), 'sources stay out');
  assert.ok(!fs.existsSync(path.join(ext, 'node_modules', 'onnxruntime-node', 'script')), 'install-time scripts stay out');
});

uiTest('a. the Locus container shows the embedded model and the CounterFact facts by relation', 'a', 5 * 60_000, async (p) => {
  await showLocusContainer(p);
  const model = await viewPane(p, 'Model');
  await treeRows(model, /\(embedded\)/).waitFor({ timeout: 180_000 });
  assert.match((await treeRows(model, /^Architecture/).textContent()) ?? '', /gpt2/);
  const facts = await viewPane(p, 'Facts');
  await treeRows(facts, /^\s*P30\b/).waitFor({ timeout: 60_000 });
  await runCommand(p, 'Locus: Filter Facts');
  await answerInput(p, /filter facts/i, `#${KNOWN.caseId}`);
  // A filtered tree opens its groups expanded; expand by hand only if the refresh has not shown the fact yet.
  const row = treeRows(facts, `#${KNOWN.caseId}`);
  if (!(await row.waitFor({ timeout: 10_000 }).then(() => true, () => false))) await expandRow(treeRows(facts, /^\s*P30\b/).first());
  await row.waitFor({ timeout: 30_000 });
  const text = (await row.textContent()) ?? '';
  assert.match(text, new RegExp(`${KNOWN.subject}.*→ ${KNOWN.target}`));
  await screenshot(p, 'a-locus-views');
  await runCommand(p, 'Locus: Clear Facts Filter');
});

uiTest('b. a fact opens in its panel, traces, and shows a heatmap value', 'b', 5 * 60_000, async (p) => {
  const view = await openFact(p, KNOWN.caseId);
  assert.equal((await view.locator('#prompt mark').first().textContent())?.trim(), KNOWN.subject);
  const top1 = await view.locator('#top-k tbody tr[data-token]').first().getAttribute('data-token');
  assert.equal(top1?.trim(), KNOWN.target, 'the embedded model knows the fact');
  await view.locator('#trace-run').click();
  await waitDone(view, 'trace-status', 180_000);
  const cell = view.locator('table[data-grid="mlp"] td[data-t="0"][data-l="0"]');
  const value = Number(await cell.getAttribute('data-value'));
  assert.ok(value >= 0 && value <= 1, `mlp[0][0] = ${value}`);
  await view.locator('#trace-heatmaps').scrollIntoViewIfNeeded();
  await screenshot(p, 'b-fact-trace');
});

uiTest('c. a ROME edit runs from the panel, reports its rewrite score, and appears in the Edits view', 'c', 6 * 60_000, async (p) => {
  const view = webview(p);
  await view.locator('#edit-method').selectOption('rome');
  await view.locator('#edit-run').click();
  await waitDone(view, 'edit-status', 5 * 60_000);
  // Angola is its prompt's first token, but its update is normal (D/d_mlp 0.41, ‖ΔW‖/‖W‖ 0.46, canary +2.7 %):
  // reported, not flagged, so applied at once (test/e2e/safety.test.ts holds a disabling edit).
  assert.equal(await view.locator('#edit-apply-anyway').count(), 0, 'not held by the pre-flight checks');
  assert.equal(await view.locator('table#edit-safety tr[data-check="subject-first-token"]').getAttribute('data-flagged'), 'false');
  const rewrite = Number(await view.locator('table#edit-metrics td[data-metric="rewrite"][data-when="after"]').getAttribute('data-value'));
  assert.ok(Number.isFinite(rewrite), `rewrite after = ${rewrite}`);
  await view.locator('table#edit-metrics').scrollIntoViewIfNeeded();
  const edits = await viewPane(p, 'Edits');
  await treeRows(edits, /ROME/).waitFor({ timeout: 30_000 });
  assert.equal(await treeRows(edits, /ROME/).count(), 1);
  await screenshot(p, 'c-fact-edit');
});

uiTest('d. killing the worker during an edit shows the error, and Locus recovers', 'd', 6 * 60_000, async (p) => {
  const extensionsDir = session!.server.extensionsDir;
  const view = webview(p);
  await view.locator('#edit-method').selectOption('rome');
  await view.locator('#edit-run').click();
  await view.locator('#edit-status[data-state="running"]').waitFor({ state: 'attached', timeout: 60_000 });
  const pid = await waitForWorker(extensionsDir);
  process.kill(pid, 'SIGKILL');
  await view.locator('#edit-status[data-state="error"]').waitFor({ state: 'attached', timeout: 60_000 });
  await view.locator('#error').waitFor({ state: 'visible', timeout: 10_000 });
  await view.locator('#error').scrollIntoViewIfNeeded();
  await notification(p, /worker/i).waitFor({ timeout: 30_000 });
  await screenshot(p, 'd-worker-killed');
  // The model is as before the kill: the applied edit (c) is re-applied, the interrupted one is not.
  // Waiting for the replay to end first also keeps its closing progress toast from taking focus from the
  // input box opened next (seen as an "inert" input on a fresh machine).
  const edits = await viewPane(p, 'Edits');
  await treeRows(edits, /ROME/).waitFor({ timeout: 120_000 });
  await notification(p, /re-applying edits/).waitFor({ state: 'hidden', timeout: 120_000 });
  assert.equal(await treeRows(edits, /ROME/).count(), 1);
  // A fresh worker answers: another fact's panel fills its predictions.
  const next = await openFact(p, OTHER_CASE);
  assert.ok((await next.locator('#top-k tbody tr[data-token]').count()) > 0);
  const pids = workerPids(extensionsDir);
  assert.equal(pids.length, 1);
  assert.notEqual(pids[0], pid, 'a new worker process');
  await screenshot(p, 'd-after-restart');
});

uiTest('e1. loading a folder that is not a model says what is missing', 'e1', 3 * 60_000, async (p) => {
  await runCommand(p, 'Locus: Load Model from Path');
  await answerInput(p, /model folder/i, session!.workspace);
  await notification(p, /config\.json/).waitFor({ timeout: 60_000 });
  await notification(p, /Locus: loading/).waitFor({ state: 'hidden', timeout: 30_000 });
  // Nothing stuck spinning, the embedded model is still the one loaded, and it keeps its edit (from c, re-applied
  // in d): the folder was refused before the worker let go of the model.
  const model = await viewPane(p, 'Model');
  await treeRows(model, /\(embedded\)/).waitFor({ timeout: 30_000 });
  assert.equal(await model.locator('.codicon-loading').count(), 0);
  assert.equal(await treeRows(await viewPane(p, 'Edits'), /ROME/).count(), 1);
  await screenshot(p, 'e1-not-a-model');
});

uiTest('e2. a malformed CounterFact file is reported by name', 'e2', 3 * 60_000, async (p) => {
  const bad = path.join(session!.workspace, 'broken-counterfact.json');
  fs.writeFileSync(bad, '[{"case_id": 1, "requested_rewrite": ');
  await runCommand(p, 'Locus: Open CounterFact File from Path');
  await answerInput(p, /CounterFact file/i, bad);
  await notification(p, /could not read .*broken-counterfact\.json/).waitFor({ timeout: 60_000 });
  await notification(p, /Locus: reading/).waitFor({ state: 'hidden', timeout: 30_000 });
  await screenshot(p, 'e2-malformed-dataset');
});

uiTest('e3. tracing a selection with a subject that is not in the prompt is refused with a reason', 'e3', 3 * 60_000, async (p) => {
  fs.writeFileSync(path.join(session!.workspace, 'free.prompts'), 'The Eiffel Tower is located in the city of\n');
  await runCommand(p, 'Go to File');
  await p.locator('.quick-input-widget input').fill('free.prompts');
  await p.locator('.quick-input-widget .monaco-list-row', { hasText: 'free.prompts' }).first().waitFor({ timeout: 30_000 });
  await p.keyboard.press('Enter');
  const editor = p.locator('.editor-instance .monaco-editor .view-lines').first();
  await editor.waitFor({ timeout: 30_000 });
  await editor.click();
  await p.keyboard.press('Control+Home');
  await p.keyboard.press('Shift+End');
  await runCommand(p, 'Locus: Trace Selection');
  await answerInput(p, /subject/i, 'Colosseum', { enter: false });
  await inputMessage(p).filter({ hasText: /does not occur in the prompt/ }).waitFor({ timeout: 10_000 });
  assert.match((await inputMessage(p).textContent()) ?? '', /subject “Colosseum”/);
  await screenshot(p, 'e3-subject-not-in-prompt');
  await p.keyboard.press('Escape');
});

uiTest('f. the Compare panel runs a layer sweep and tabulates edit success per layer', 'f', 6 * 60_000, async (p) => {
  await runCommand(p, 'Locus: Open Compare View');
  const view = webview(p);
  await view.locator('#sweep-run').waitFor({ timeout: 60_000 });
  await view.locator('#sweep-case').fill(String(KNOWN.caseId));
  // FT-1 only, two layers: a real sweep that stays short (ROME is the default choice; untick it).
  await view.locator('input[name="sweep-method"][value="rome"]').uncheck();
  await view.locator('input[name="sweep-method"][value="ft"]').check();
  await view.locator('#sweep-layers').fill('0,1');
  await view.locator('#sweep-run').click();
  await waitDone(view, 'sweep-status', 5 * 60_000);
  for (const l of [0, 1]) {
    const v = Number(await view.locator(`table#sweep-table td[data-method="ft"][data-l="${l}"][data-metric="rewrite"]`).getAttribute('data-value'));
    assert.ok(Number.isFinite(v), `ft rewrite at layer ${l} = ${v}`);
  }
  await view.locator('#sweep-chart').scrollIntoViewIfNeeded();
  await screenshot(p, 'f-compare-sweep');
});

uiTest('g. a study saved under .locus/runs opens from the Runs view with its R² table', 'g', 8 * 60_000, async (p) => {
  // The study itself comes from the packaged CLI (same engine): 2 known facts × FT-1 × layers 0, 1.
  const ext = path.join(session!.server.extensionsDir, fs.readdirSync(session!.server.extensionsDir).find((d) => d.startsWith('locus-dev.locus-'))!);
  const dir = path.join(session!.workspace, '.locus', 'runs', 'e2e-study');
  const r = spawnSync(process.execPath, [path.join(ext, 'dist', 'cli.js'), 'study', 'run', '--cases', 'known:2', '--methods', 'ft', '--layers', '0,1', '--out', dir], { encoding: 'utf8', timeout: 5 * 60_000 });
  assert.equal(r.status, 0, `locus study run failed: ${r.stderr}`);
  await runCommand(p, 'Locus: Refresh Runs');
  const runs = await viewPane(p, 'Runs');
  const row = treeRows(runs, /e2e-study/).first();
  await row.waitFor({ timeout: 30_000 });
  await row.click();
  const view = webview(p);
  const cell = view.locator('table#r2-table td[data-method="ft"][data-metric="rewrite"][data-col="r2Layer"]').first();
  await cell.waitFor({ state: 'attached', timeout: 60_000 });
  assert.match((await cell.textContent()) ?? '', /\d|—|NaN/);
  await view.locator('#curves').waitFor({ state: 'attached' });
  await view.locator('#scatter').waitFor({ state: 'attached' });
  await screenshot(p, 'g-study-panel');
});

uiTest('h. after a window reload the open panels come back with their data, and the applied edit is re-applied', 'h', 5 * 60_000, async (p) => {
  await runCommand(p, 'Developer: Reload Window');
  await p.waitForSelector('.monaco-workbench', { timeout: 120_000 });
  await p.locator('.tabs-container .tab', { hasText: 'Study: e2e-study' }).first().waitFor({ timeout: 120_000 });
  await p.locator('.tabs-container .tab', { hasText: `Fact ${KNOWN.caseId}` }).first().waitFor({ timeout: 30_000 });
  // The active tab (the study) is revived into its restored panel and re-reads its folder.
  const view = webview(p);
  await view.locator('table#r2-table td[data-method="ft"][data-metric="rewrite"][data-col="r2Layer"]').first().waitFor({ state: 'attached', timeout: 120_000 });
  await p.locator('.tabs-container .tab', { hasText: `Fact ${KNOWN.caseId}` }).first().click();
  await webview(p).locator('#prompt mark').first().waitFor({ timeout: 120_000 });
  assert.equal((await webview(p).locator('#prompt mark').first().textContent())?.trim(), KNOWN.subject);
  // The ROME edit of c (re-applied in d) was saved in the workspace state and is re-applied in the new window.
  const edits = await viewPane(p, 'Edits');
  await treeRows(edits, /ROME/).waitFor({ timeout: 120_000 });
  await notification(p, /re-applying edits from the last window/).waitFor({ state: 'hidden', timeout: 120_000 });
  assert.equal(await treeRows(edits, /ROME/).count(), 1);
  await screenshot(p, 'h-after-reload');
});

/**
 * Opens the cache picker; the workspace settings that point it at the fake cache reach the extension
 * through a file watcher, so the picker is reopened until its title names that cache. It is also reopened
 * when it does not show at all (a late toast of h's reload can take focus and close it as it opens).
 */
async function openCachePicker(p: Page, cacheDir: string): Promise<void> {
  let seen = '';
  for (let attempt = 1; attempt <= 8; attempt++) {
    await runCommand(p, 'Locus: Open Model from Hugging Face Cache');
    const title = quickPickTitle(p).filter({ hasText: /models in the Hugging Face cache/ });
    if (await title.waitFor({ timeout: 15_000 }).then(() => true, () => false)) {
      seen = (await title.textContent()) ?? '';
      if (seen.includes(cacheDir)) return;
    }
    console.log(`cache picker, try ${attempt}: ${seen ? `it listed another cache (${seen})` : 'it did not open'}; asking again`);
    await screenshot(p, `i-picker-retry-${attempt}`);
    await p.keyboard.press('Escape');
    await p.waitForTimeout(1000);
  }
  assert.fail(`the picker never listed ${cacheDir}${seen ? `; last: ${seen}` : ' (it did not open)'}`);
}

uiTest('i. a Llama-family model opens from the Hugging Face cache picker into the views, and the open Fact panel re-probes on it', 'i', 4 * 60_000, async (p) => {
  llama = writeLlamaFixture(tempDir('locus-e2e-hf-'), session!.workspace);
  // The Fact panel revived in h is the active tab; it shows the embedded model's predictions until llama replaces them.
  const fact = webview(p);
  // (Its top-1 is "Antarctica": the embedded model carries c's ROME edit, re-applied after the reload.)
  const gpt2Top = await fact.locator('#top-k tbody tr[data-token]').first().getAttribute('data-token');
  assert.ok(gpt2Top, 'the revived Fact panel shows its predictions');
  await openCachePicker(p, llama.cacheDir);
  const row = quickPickRows(p, LLAMA_REPO).first();
  await row.waitFor({ timeout: 10_000 });
  assert.match((await row.textContent()) ?? '', /llama · 1\.6M params · F32 · 7\.5 MiB/);
  await filterQuickPick(p, 'pickle-only');
  assert.match((await quickPickRows(p, 'pickle-only').first().textContent()) ?? '', /pickle weights only/);
  await filterQuickPick(p, 'llama-tiny');
  await screenshot(p, 'i-hf-cache-picker');
  await row.click();
  await notification(p, /Locus: loaded locus-test\/llama-tiny \(llama, 3 layers/).waitFor({ timeout: 120_000 });
  const model = await viewPane(p, 'Model');
  await treeRows(model, LLAMA_REPO).waitFor({ timeout: 30_000 });
  assert.match((await treeRows(model, /^Architecture/).textContent()) ?? '', /llama/);
  assert.match((await treeRows(model, /^Layers/).textContent()) ?? '', /3 × d_model 32, 4 heads/);
  await statusBarItem(p, LLAMA_REPO).waitFor({ timeout: 30_000 });
  // The embedded model's edit (c) was made on another model: it is dropped, not carried over.
  assert.equal(await treeRows(await viewPane(p, 'Edits'), /ROME/).count(), 0);
  await fact.locator('#model-badge', { hasText: `${LLAMA_REPO} · 3 layers` }).waitFor({ timeout: 60_000 });
  await fact.locator(`#top-k tbody tr:first-child:not([data-token="${gpt2Top}"])`).waitFor({ state: 'attached', timeout: 60_000 });
  // The trace window kept from the 8-layer model (4) does not fit 3 layers: the panel's default for 3 (2) replaces it.
  assert.equal(await fact.locator('#trace-window').inputValue(), '2');
  await screenshot(p, 'i-llama-loaded');
});

uiTest('j. on the Llama model, a fact traces in its panel and the heatmaps match the golden trace', 'j', 4 * 60_000, async (p) => {
  assert.ok(llama, 'i wrote the fixture');
  await runCommand(p, 'Locus: Open CounterFact File from Path');
  await answerInput(p, /CounterFact file/i, llama.datasetFile);
  await notification(p, /Locus: 1 facts from space-needle-counterfact\.json/).waitFor({ timeout: 60_000 });
  const ref = goldenTrace();
  const view = await openFact(p, LLAMA_CASE_ID);
  assert.equal((await view.locator('#prompt mark').first().textContent())?.trim(), ref.subject);
  assert.equal((await view.locator('#model-badge').textContent())?.trim(), `${LLAMA_REPO} · 3 layers`);
  // The probe against the golden's forward pass: top-1 "myra" with p = 0.2572 (clean_prob).
  const top = view.locator('#top-k tbody tr[data-token]').first();
  assert.equal(await top.getAttribute('data-token'), ref.answer);
  assert.ok(Math.abs(Number(await top.getAttribute('data-prob')) - ref.clean_prob) < 1e-4, `p(${ref.answer}) = ${await top.getAttribute('data-prob')}, golden ${ref.clean_prob}`);
  const window = 2;
  await view.locator('#trace-window').fill(String(window));
  await view.locator('#trace-samples').fill(String(ref.samples));
  await view.locator('#trace-run').click();
  await waitDone(view, 'trace-status', 180_000);
  let worst = 0;
  for (const kind of ['hidden', 'mlp', 'attn'] as const) {
    const want = goldenGrid(ref, kind, window);
    const cells = await view.locator(`table[data-grid="${kind}"] td[data-t][data-l]`).evaluateAll((tds) =>
      tds.map((td) => [Number(td.getAttribute('data-t')), Number(td.getAttribute('data-l')), Number(td.getAttribute('data-value'))]),
    );
    assert.equal(cells.length, ref.input_tokens.length * 3, `${kind}: ${cells.length} cells for ${ref.input_tokens.length} tokens × 3 layers`);
    for (const [t, l, v] of cells) {
      const d = Math.abs(v - want[t][l]);
      worst = Math.max(worst, d);
      assert.ok(d <= 1e-4, `${kind}[${t}][${l}] = ${v}, golden ${want[t][l]}`);
    }
  }
  console.log(`llama trace in the UI: max |diff| vs trace_space_needle.json ${worst.toExponential(2)}`);
  assert.match((await view.locator('#trace-summary').textContent()) ?? '', new RegExp(`Answer "${ref.answer}".* 90 cells`));
  await view.locator('#trace-heatmaps canvas').first().waitFor({ state: 'attached' });
  await view.locator('#trace-heatmaps').scrollIntoViewIfNeeded();
  await screenshot(p, 'j-llama-trace');
});

uiTest('k. on the Llama model, a ROME edit at layer 1 runs from the panel and raises the new target', 'k', 5 * 60_000, async (p) => {
  const view = webview(p);
  await view.locator('#title', { hasText: `Fact ${LLAMA_CASE_ID}:` }).waitFor({ state: 'attached', timeout: 30_000 });
  await view.locator('#edit-method').selectOption('rome');
  await view.locator('#edit-problem').selectOption('error-injection');
  await view.locator('#edit-layer').selectOption('1');
  await view.locator('#edit-run').click();
  await waitDone(view, 'edit-status', 4 * 60_000);
  // On the Llama golden this ROME edit is a real disabling one: the pre-flight checks hold it (update denominator, ‖ΔW‖ ratio and canary, measured through the CLI), so it is applied anyway.
  await view.locator('#edit-apply-anyway').click();
  await view.locator('#edit-status[data-state="running"]').waitFor({ state: 'attached', timeout: 60_000 });
  await waitDone(view, 'edit-status', 4 * 60_000);
  const metric = async (key: string, when: 'before' | 'after') => Number(await view.locator(`table#edit-metrics td[data-metric="${key}"][data-when="${when}"]`).getAttribute('data-value'));
  // Before the edit: the golden forward pass's log-probabilities; after: the new target is more likely.
  const newBefore = await metric('logprob-new', 'before');
  const newAfter = await metric('logprob-new', 'after');
  const trueBefore = await metric('logprob-true', 'before');
  console.log(`llama ROME in the UI: log p(" Paris") ${newBefore} → ${newAfter}`);
  assert.ok(Math.abs(newBefore - goldenLogprob(' Paris')) < 1e-3, `log p(" Paris") before = ${newBefore}, golden ${goldenLogprob(' Paris')}`);
  assert.ok(Math.abs(trueBefore - goldenLogprob(' Seattle')) < 1e-3, `log p(" Seattle") before = ${trueBefore}, golden ${goldenLogprob(' Seattle')}`);
  assert.ok(newAfter > newBefore + 0.5, `log p(" Paris") ${newBefore} → ${newAfter}`);
  assert.match((await view.locator('#edit-result').textContent()) ?? '', /ROME, layer 1, error-injection, target " Paris"/);
  const edits = await viewPane(p, 'Edits');
  await treeRows(edits, /ROME/).waitFor({ timeout: 30_000 });
  assert.equal(await treeRows(edits, /ROME/).count(), 1);
  await statusBarItem(p, `${LLAMA_REPO} · 1 edit`).waitFor({ timeout: 30_000 });
  await view.locator('table#edit-metrics').scrollIntoViewIfNeeded();
  await screenshot(p, 'k-llama-edit');
});
