/**
 * A built webview bundle in headless Chromium, the way VS Code shows it: the HTML shell of html.ts with
 * file:// resources and a stand-in `acquireVsCodeApi` that records what the page posts. Used by the
 * panel tests in test/webview (the e2e tests drive the real VS Code instead).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { panelHtml } from '../../src/extension/panels/html';
import { repoRoot } from './paths';

export const CHROMIUM = process.env.LOCUS_CHROMIUM ?? '/usr/bin/chromium';

/** Headless Chromium whose config and caches (dconf, …) go under `home`, not the user's ~/.config and ~/.cache. */
export function launchChromium(home: string): Promise<Browser> {
  const env = { ...process.env, XDG_CONFIG_HOME: path.join(home, 'xdg-config'), XDG_CACHE_HOME: path.join(home, 'xdg-cache') } as Record<string, string>;
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'], env });
}

/** Why the browser tests cannot run here (no Chromium, or a bundle not built), or false. */
export function browserSkipReason(bundles: readonly string[]): string | false {
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set LOCUS_CHROMIUM)`;
  const missing = bundles.filter((b) => !fs.existsSync(path.join(repoRoot, 'dist', 'webview', `${b}.js`)));
  return missing.length ? `dist/webview/${missing.join('.js, ')}.js missing: run \`node esbuild.js webviews\` first` : false;
}

export type Posted = { type: string; requestId?: string } & Record<string, unknown>;

/** Page errors and console errors of each opened panel. */
export const pageErrors = new WeakMap<Page, string[]>();

/** Opens `bundle`'s panel in a new page and waits for its panel/ready; fails on any page error so far. */
export async function openPanelPage(browser: Browser, dir: string, bundle: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const fakeWebview = { cspSource: 'file:', asWebviewUri: (u: { fsPath: string }) => pathToFileURL(u.fsPath).href };
  const joinPath = (base: { fsPath: string }, ...p: string[]) => ({ fsPath: path.join(base.fsPath, ...p) });
  const file = path.join(dir, `${bundle}.html`);
  fs.writeFileSync(file, panelHtml(fakeWebview as never, { fsPath: repoRoot } as never, bundle, `Locus ${bundle}`, joinPath as never));
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
  await page.addInitScript(() => {
    const g = globalThis as unknown as Record<string, unknown>;
    const posted: unknown[] = [];
    let state: unknown;
    g.__posted = posted;
    g.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => posted.push(m), getState: () => state, setState: (s: unknown) => (state = s) });
  });
  await page.goto(pathToFileURL(file).href);
  await waitPosted(page, 'panel/ready');
  assert.deepEqual(errors, [], `the ${bundle} bundle reported errors`);
  return page;
}

/** Waits until the page has posted a message of this type (after `skipCount` earlier ones) and answers it. */
export async function waitPosted(page: Page, type: string, skipCount = 0): Promise<Posted> {
  await page.waitForFunction(
    ([t, n]) => (globalThis as unknown as { __posted: Posted[] }).__posted.filter((m) => m.type === t).length > (n as number),
    [type, skipCount] as const,
    { timeout: 10_000 },
  );
  return page.evaluate(([t, n]) => (globalThis as unknown as { __posted: Posted[] }).__posted.filter((m) => m.type === t)[n as number], [type, skipCount] as const);
}
