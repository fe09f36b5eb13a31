// Lint enforces who may import whom (ARCHITECTURE.md, style-anchors §6):
// engine ⟂ vscode/protocol-runtime, extension ⟂ engine, webview ⟂ node and engine, ORT only in runtime/ort.ts.
import tseslint from 'typescript-eslint';

const noVscode = { name: 'vscode', message: 'The engine is headless: it never imports vscode.' };
const ortOnlyInRuntime = {
  group: ['onnxruntime-node', 'onnxruntime-common'],
  message: 'Only src/engine/runtime/ort.ts imports onnxruntime.',
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.vscode-test/**', 'assets/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'No default exports.' }],
    },
  },
  {
    files: ['src/engine/**/*.ts'],
    ignores: ['src/engine/runtime/ort.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noVscode],
        patterns: [ortOnlyInRuntime, { group: ['**/protocol/**', '**/extension/**', '**/worker/**', '**/cli/**'], message: 'The engine imports only the engine.' }],
      }],
    },
  },
  {
    files: ['src/engine/runtime/ort.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [noVscode] }] },
  },
  {
    files: ['src/cli/**/*.ts', 'src/worker/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noVscode],
        patterns: [
          ortOnlyInRuntime,
          { group: ['**/engine/*/**', '**/engine/errors', '!**/engine/index'], message: 'The worker and the CLI import the engine through src/engine/index.ts only.' },
          { group: ['**/extension/**'], message: 'The extension is a separate process.' },
        ],
      }],
    },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [ortOnlyInRuntime, { group: ['**/engine/**', '**/worker/**', '**/cli/**'], message: 'The extension never imports the engine: it talks to the worker.' }],
      }],
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noVscode],
        patterns: [ortOnlyInRuntime, { regex: '(^|/)engine/(?!model/names$)', message: 'Protocol holds types and constants only (type imports from engine/model/names excepted).' }],
      }],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noVscode],
        patterns: [
          { group: ['node:*', 'fs', 'path', 'child_process'], message: 'Webviews run in a browser.' },
          { group: ['**/src/engine/**', '**/src/extension/**', '**/src/worker/**', '**/src/cli/**'], message: 'Webviews import only src/protocol.' },
        ],
      }],
    },
  },
);
