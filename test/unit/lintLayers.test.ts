import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { repoRoot } from '../helpers/paths';

/** The import-layer rules in eslint.config.mjs (ARCHITECTURE.md): each forbidden import is reported, each allowed one is not. */
const cases: Array<[string, string, boolean]> = [
  ['src/engine/model/x.ts', "import * as vscode from 'vscode';", false],
  ['src/engine/model/x.ts', "import * as ort from 'onnxruntime-node';", false],
  ['src/engine/runtime/ort.ts', "import * as ort from 'onnxruntime-node';", true],
  ['src/engine/model/x.ts', "import type { X } from '../../protocol/engine';", false],
  ['src/extension/x.ts', "import { loadModel } from '../engine/index';", false],
  ['src/extension/x.ts', "import type { EngineProtocol } from '../protocol/engine';", true],
  ['src/cli/commands/x.ts', "import { forward } from '../../engine/interp/forward';", false],
  ['src/cli/commands/x.ts', "import { forward } from '../../engine/index';", true],
  ['src/protocol/x.ts', "import type { ActName } from '../engine/model/names';", true],
  ['src/protocol/x.ts', "import { LocusError } from '../engine/errors';", false],
  ['webview/trace/x.ts', "import * as fs from 'node:fs';", false],
  ['webview/trace/x.ts', "import { loadModel } from '../../src/engine/index';", false],
];

test('ESLint enforces who may import whom', async () => {
  const eslint = new ESLint({ cwd: repoRoot });
  for (const [file, code, allowed] of cases) {
    const [result] = await eslint.lintText(`${code}\nexport const used = typeof ${code.includes('type ') ? '0' : 'String'};\n`, { filePath: path.join(repoRoot, file) });
    const restricted = result.messages.filter((m) => m.ruleId === 'no-restricted-imports');
    assert.equal(restricted.length === 0, allowed, `${file}: ${code} → ${restricted.map((m) => m.message).join('; ') || 'allowed'}`);
  }
});
