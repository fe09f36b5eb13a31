/**
 * The same extension-host suite through @vscode/test-electron, which downloads VS Code: only where that
 * is possible (LOCUS_TEST_ELECTRON=1; on Linux without a display, run it under xvfb-run).
 */
import * as path from 'node:path';
import { test } from 'node:test';
import { runTests } from '@vscode/test-electron';
import { repoRoot, tempDir } from '../helpers/paths';

const skip = process.env.LOCUS_TEST_ELECTRON === '1' ? undefined : 'set LOCUS_TEST_ELECTRON=1 where VS Code can be downloaded';

test('the extension-host suite passes in VS Code (Electron)', { skip, timeout: 15 * 60_000 }, async () => {
  const workspace = tempDir('locus-e2e-electron-ws-');
  // runTests rejects when the suite's run() rejects, i.e. when a test fails.
  await runTests({
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: path.join(repoRoot, 'out', 'test', 'e2e', 'host', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
  });
});
