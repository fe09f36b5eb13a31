/**
 * The extension-host suite (test/e2e/host) inside code-server's Node extension host: this checkout as
 * the development extension, the suite as `extensionTestsPath`, both passed in the workbench URL's
 * `payload`; the exit code arrives through `window.codeAutomationExit`, the results through a file.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { repoRoot, tempDir } from '../helpers/paths';
import { installCodeServer, startCodeServer } from './harness/codeServer';
import type { HostResult } from './host/index';
import { e2eSkipReason, openWorkbench, screenshotDir } from './harness/workbench';

test('the extension-host suite passes in code-server', { skip: e2eSkipReason(), timeout: 15 * 60_000 }, async () => {
  const build = spawnSync(process.execPath, ['esbuild.js', 'extension', 'worker'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(build.status, 0, `esbuild: ${build.stderr}`);
  const install = installCodeServer();
  const workspace = tempDir('locus-e2e-host-ws-');
  const resultFile = path.join(workspace, 'host-result.json');
  process.env.LOCUS_HOST_RESULT = resultFile; // inherited by code-server and its extension host
  const server = await startCodeServer(install, { workspace });
  const lines: string[] = [];
  try {
    const host = new URL(server.url).host;
    let exited: (code: number) => void = () => undefined;
    const exit = new Promise<number>((resolve) => (exited = resolve));
    const wb = await openWorkbench(server.url, workspace, {
      payload: [
        ['extensionDevelopmentPath', `vscode-remote://${host}${repoRoot}`],
        ['extensionTestsPath', `vscode-remote://${host}${path.join(repoRoot, 'out', 'test', 'e2e', 'host', 'index.js')}`],
      ],
      onExit: (code) => exited(code),
      onConsole: (text) => lines.push(text),
    });
    let code: number;
    try {
      code = await exit;
    } finally {
      await wb.close();
    }
    const result = fs.existsSync(resultFile) ? (JSON.parse(fs.readFileSync(resultFile, 'utf8')) as HostResult) : undefined;
    console.log('extension-host results:', JSON.stringify(result, null, 2));
    assert.ok(result, `the suite wrote no results (exit code ${code}); page console:\n${lines.slice(-40).join('\n')}`);
    assert.deepEqual(result.failed, []);
    assert.equal(result.passed.length, 3);
    assert.equal(code, 0);
  } finally {
    delete process.env.LOCUS_HOST_RESULT;
    await server.stop(path.join(screenshotDir, 'logs-host'));
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
