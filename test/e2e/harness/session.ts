/**
 * One UI test session: code-server (pinned, cached) with this checkout's packaged .vsix installed,
 * a scratch workspace, and the workbench open in Chromium. `close()` ends all of it, also after a
 * failure, and keeps code-server's and the extension host's logs under test-output/e2e/logs-<name>/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { tempDir } from '../../helpers/paths';
import type { CodeServer } from './codeServer';
import { installCodeServer, packageVsix, startCodeServer } from './codeServer';
import type { Workbench } from './workbench';
import { openWorkbench, screenshotDir } from './workbench';

export interface UiSession {
  readonly server: CodeServer;
  readonly page: Page;
  readonly workspace: string;
  /** Milliseconds spent in each setup step, for the test log. */
  readonly timings: Record<string, number>;
  close(): Promise<void>;
}

export async function startUiSession(name: string): Promise<UiSession> {
  const timings: Record<string, number> = {};
  const timed = async <T>(step: string, run: () => T | Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await run();
    } finally {
      timings[step] = Date.now() - t0;
    }
  };
  const install = await timed('install code-server', installCodeServer);
  const vsix = await timed('package .vsix', packageVsix);
  const workspace = tempDir('locus-e2e-ws-');
  let server: CodeServer | undefined;
  let wb: Workbench | undefined;
  const close = async () => {
    await wb?.close();
    await server?.stop(path.join(screenshotDir, `logs-${name}`));
    fs.rmSync(workspace, { recursive: true, force: true });
  };
  try {
    server = await timed('start code-server', () => startCodeServer(install, { vsix, workspace }));
    const url = server.url;
    wb = await timed('open workbench', () => openWorkbench(url, workspace));
    return { server, page: wb.page, workspace, timings, close };
  } catch (e) {
    await close();
    throw e;
  }
}
