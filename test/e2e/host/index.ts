/**
 * The extension-host test entry (the `extensionTestsPath` contract of @vscode/test-electron, which
 * code-server's extension-tests route follows too): `run()` runs locusHostTests with mocha and, when
 * LOCUS_HOST_RESULT names a file, writes the results there for the launcher to check.
 */
import * as fs from 'node:fs';
import Mocha from 'mocha';
import type * as VscodeApi from 'vscode';
import { locusHostTests } from './locusHostTests';

export interface HostResult {
  readonly passed: string[];
  readonly failed: Array<{ title: string; error: string }>;
  readonly notes: Record<string, unknown>;
}

export function run(): Promise<void> {
  // Only the extension host can supply `vscode`; importing it at the top would break the plain load
  // that `node --test` does of every compiled file under test/.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vscode = require('vscode') as typeof VscodeApi;
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 180_000, reporter: 'spec' });
  const suite = Mocha.Suite.create(mocha.suite, 'Locus in the extension host');
  const result: HostResult = { passed: [], failed: [], notes: {} };
  for (const t of locusHostTests(vscode, (key, value) => (result.notes[key] = value))) suite.addTest(new Mocha.Test(t.title, t.run));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      if (process.env.LOCUS_HOST_RESULT) fs.writeFileSync(process.env.LOCUS_HOST_RESULT, JSON.stringify(result, null, 2));
      if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
      else resolve();
    });
    runner.on('pass', (t) => result.passed.push(t.title));
    runner.on('fail', (t, err: Error) => result.failed.push({ title: t.title, error: String(err?.stack ?? err) }));
  });
}
