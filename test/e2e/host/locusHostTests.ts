/**
 * The extension-host suite: tests that need the `vscode` API. Plain functions, no mocha globals and no
 * top-level `vscode` import, because Node 20's `node --test out/test/` also loads every .js under a
 * `test` folder directly; `index.ts` hands these to mocha inside the extension host.
 */
import * as assert from 'node:assert/strict';
import type * as VscodeApi from 'vscode';
import type { ProbeResultDto } from '../../../src/protocol/dto';

export interface HostTest {
  readonly title: string;
  readonly run: () => Promise<void> | void;
}

const EXTENSION_ID = 'locus-dev.locus';

/** `note` records a measured value in the results file (printed by the launcher). */
export function locusHostTests(vscode: typeof VscodeApi, note: (key: string, value: unknown) => void): HostTest[] {
  const extension = () => {
    const ext = vscode.extensions.getExtension<{ activationMs?: number }>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    return ext;
  };
  return [
    {
      title: 'the extension activates and reports its activation time',
      run: async () => {
        const api = await extension().activate();
        assert.equal(extension().isActive, true);
        // Recorded (issue 6 asks ≤ 200 ms); not asserted: timings on a shared machine vary.
        note('activationMs', api?.activationMs);
        assert.ok(Number.isFinite(api?.activationMs), 'activate() answers { activationMs }');
      },
    },
    {
      title: 'every command in package.json is registered',
      run: async () => {
        const contributed = (extension().packageJSON as { contributes: { commands: Array<{ command: string }> } }).contributes.commands.map((c) => c.command);
        const registered = new Set(await vscode.commands.getCommands(true));
        assert.deepEqual(contributed.filter((c) => !registered.has(c)), [], 'contributed but not registered');
        assert.ok(contributed.includes('locus.openFactById'));
      },
    },
    {
      title: 'locus.probeText runs the embedded model in the worker: "Angola is located in" → Africa',
      run: async () => {
        const r = await vscode.commands.executeCommand<ProbeResultDto | undefined>('locus.probeText', 'Angola is located in');
        assert.ok(r, 'locus.probeText answered');
        assert.equal(r.top[0].token.trim(), 'Africa');
        assert.ok(r.top[0].prob > 0 && r.top[0].prob <= 1);
        assert.ok(r.top.length >= 5);
      },
    },
  ];
}
