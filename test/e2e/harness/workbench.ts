/**
 * The VS Code workbench in Debian's Chromium, driven by playwright-core: open it, run palette commands,
 * answer input boxes, read tree views, notifications and webview content, take screenshots.
 * Selectors are VS Code's own DOM (pinned with the code-server version in scripts/codeServer.js).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext, FrameLocator, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { repoRoot, tempDir } from '../../helpers/paths';

export const chromiumPath = (): string => process.env.LOCUS_CHROMIUM ?? '/usr/bin/chromium';
export const screenshotDir = path.join(repoRoot, 'test-output', 'e2e');

/** Why the UI tests cannot run here, or undefined. CI sets LOCUS_E2E=1 so that they never skip there. */
export function e2eSkipReason(): string | undefined {
  if (process.env.LOCUS_E2E === '1' || fs.existsSync(chromiumPath())) return undefined;
  return `no Chromium at ${chromiumPath()} (apt-get install chromium, or set LOCUS_CHROMIUM; LOCUS_E2E=1 makes this a failure)`;
}

export interface Workbench {
  readonly page: Page;
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The workbench URL's `payload` pairs (extensionDevelopmentPath, extensionTestsPath as vscode-remote URIs). */
  readonly payload?: ReadonlyArray<readonly [string, string]>;
  /** Receives `window.codeAutomationExit(code)` (the extension-tests route). */
  readonly onExit?: (code: number) => void;
  /** Lines the page logs (the extension host's console is forwarded there). */
  readonly onConsole?: (text: string) => void;
}

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const ENABLE_SMOKE_TEST_DRIVER = `(() => {
  const original = Element.prototype.getAttribute;
  Element.prototype.getAttribute = function (name) {
    const value = original.call(this, name);
    if (name === 'data-settings' && this.id === 'vscode-workbench-web-configuration' && value) {
      const config = JSON.parse(value);
      config.developmentOptions = { ...config.developmentOptions, enableSmokeTestDriver: true };
      return JSON.stringify(config);
    }
    return value;
  };
})();`;

export async function openWorkbench(baseUrl: string, folder: string, opts: OpenOptions = {}): Promise<Workbench> {
  const profile = tempDir('locus-e2e-chromium-');
  // Playwright refuses --user-data-dir in args: a persistent context is how to give Chromium its own profile.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(), headless: true, viewport: { width: 1400, height: 900 }, args: CHROMIUM_ARGS,
    // Chromium's dconf and config caches go under the profile too, not into the user's ~/.cache and ~/.config.
    env: { ...process.env, XDG_CONFIG_HOME: path.join(profile, 'xdg-config'), XDG_CACHE_HOME: path.join(profile, 'xdg-cache') },
  });
  const close = async () => {
    await context.close().catch(() => undefined);
    fs.rmSync(profile, { recursive: true, force: true });
  };
  try {
    if (opts.payload) {
      // A built VS Code ignores the payload's development options unless the page config enables the
      // smoke-test driver, and code-server has no flag for it: patch the config as the page reads it.
      // (A string: this file is compiled without the DOM library.)
      await context.addInitScript({ content: ENABLE_SMOKE_TEST_DRIVER });
    }
    const page = context.pages()[0] ?? (await context.newPage());
    if (opts.onExit) await page.exposeFunction('codeAutomationExit', (code: number) => opts.onExit?.(code));
    if (opts.onConsole) page.on('console', (m) => opts.onConsole?.(m.text()));
    let url = `${baseUrl}/?folder=${encodeURIComponent(folder)}`;
    if (opts.payload) url += `&payload=${encodeURIComponent(JSON.stringify(opts.payload))}`;
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    if (!opts.onExit) {
      await page.waitForSelector('.monaco-workbench', { timeout: 90_000 });
      await page.waitForSelector('#workbench\\.parts\\.statusbar', { timeout: 90_000 });
    }
    return { page, context, close };
  } catch (e) {
    await close();
    throw e;
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const quickInput = (page: Page) => page.locator('.quick-input-widget');

/**
 * Runs a command by its palette title ("Locus: Open Fact by Case ID"; a trailing "…" may be left out).
 * Retried: right after startup the typed filter can be lost, or the extension's contributions are not
 * registered yet.
 */
export async function runCommand(page: Page, title: string, attempts = 6): Promise<void> {
  const input = quickInput(page).locator('input');
  const row = quickInput(page)
    .locator('.monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(title)}(…|\\.\\.\\.)?\\s*$`) }) })
    .first();
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(`>${title}`);
    try {
      await row.waitFor({ timeout: 5000 });
      break;
    } catch (e) {
      if (attempt >= attempts) throw new Error(`no "${title}" in the command palette after ${attempts} tries: ${String(e)}`);
      await page.keyboard.press('Escape');
      await page.waitForTimeout(1000);
    }
  }
  await row.click();
}

/** Types `value` into the input box whose title contains `title`, then presses Enter. */
export async function answerInput(page: Page, title: string | RegExp, value: string, opts: { enter?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const timeout = opts.timeoutMs ?? 30_000;
  await quickInput(page).locator('.quick-input-title', { hasText: title }).waitFor({ timeout });
  const input = quickInput(page).locator('input');
  await input.fill(value, { timeout });
  if (opts.enter ?? true) await input.press('Enter');
}

/** The validation message under the open input box. */
export const inputMessage = (page: Page): Locator => quickInput(page).locator('.quick-input-message');

/** A toast (or the notification centre's entry) whose message matches `text`. */
export const notification = (page: Page, text: string | RegExp): Locator =>
  page.locator('.notification-list-item-message', { hasText: text }).first();

/** The content of the visible webview panel (outer iframe → inner #active-frame). */
export const webview = (page: Page): FrameLocator =>
  page.frameLocator('iframe.webview.ready:visible').first().frameLocator('#active-frame');

/** Clicks the Locus icon in the activity bar (the view container `locus`). */
export async function showLocusContainer(page: Page): Promise<void> {
  const icon = page.locator('.activitybar .action-item', { has: page.locator('[aria-label^="Locus"]') }).first();
  await icon.waitFor({ timeout: 60_000 });
  const already = await page.locator('.sidebar .composite.title', { hasText: /locus/i }).count();
  if (!already) await icon.click();
  await page.locator('.sidebar .composite.title', { hasText: /locus/i }).waitFor({ timeout: 30_000 });
}

/** The view pane titled `name` in the side bar (Model, Facts, Edits, Runs); expanded when collapsed. */
export async function viewPane(page: Page, name: string): Promise<Locator> {
  const pane = page.locator('.sidebar .pane', { has: page.locator('.pane-header h3.title', { hasText: new RegExp(`^\\s*${escapeRegExp(name)}\\s*$`) }) }).first();
  await pane.waitFor({ timeout: 30_000 });
  const header = pane.locator('.pane-header').first();
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  return pane;
}

/** Tree rows of a pane whose label or description matches `text`. */
export const treeRows = (pane: Locator, text?: string | RegExp): Locator =>
  text === undefined ? pane.locator('.monaco-list-row') : pane.locator('.monaco-list-row', { hasText: text });

/** Expands a collapsed tree row (a group), leaving an expanded one as it is. */
export async function expandRow(row: Locator): Promise<void> {
  if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** The open quick pick's title. */
export const quickPickTitle = (page: Page): Locator => quickInput(page).locator('.quick-input-title');

/** Rows of the open quick pick whose label, description or detail matches `text`. */
export const quickPickRows = (page: Page, text: string | RegExp): Locator => quickInput(page).locator('.monaco-list-row', { hasText: text });

/** Types `filter` into the open quick pick (its rows narrow to the matches). */
export async function filterQuickPick(page: Page, filter: string): Promise<void> {
  await quickInput(page).locator('input').fill(filter);
}

/** The status bar's entries whose text matches `text`. */
export const statusBarItem = (page: Page, text: string | RegExp): Locator => page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: text }).first();
