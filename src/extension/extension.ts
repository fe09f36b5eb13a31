/**
 * Activation stays cheap (issue 6: ≤ 200 ms): it registers views, commands and providers and creates
 * the EngineSession, which forks no worker until the first request. The engine loads lazily in the
 * worker when a Locus view is shown or a command needs it. `activate` answers a small API (the
 * activation time and the session) for the extension-host tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { EngineSession } from './engineSession';
import type { SavedEdits } from './engineSession';
import { panelOpeners } from './panels/openers';
import { registerPanelSerializers } from './panels/restore';
import { PromptsCodeLens, SelectionHover } from './probing/probe';
import { RunsStore } from './runs';
import { withSettings } from './settings';
import { createStatusBar } from './statusBar';
import { EditsView } from './views/editsView';
import { FactsView } from './views/factsView';
import { ModelView } from './views/modelView';
import { RunsView } from './views/runsView';

export interface LocusApi {
  /** Milliseconds `activate` took (measured inside it). */
  readonly activationMs: number;
  readonly session: EngineSession;
}

/** The workspace-state key of the applied edits' requests (re-applied after a window reload). */
const SAVED_EDITS_KEY = 'locus.appliedEdits';

export function activate(context: vscode.ExtensionContext): LocusApi {
  const t0 = performance.now();
  const out = vscode.window.createOutputChannel('Locus');
  const log = (text: string) => out.appendLine(text.replace(/\s+$/, ''));
  const config = () => vscode.workspace.getConfiguration('locus');
  const workspaceDir = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;

  const workerCwd = workspaceDir() ?? context.globalStorageUri.fsPath;
  fs.mkdirSync(workerCwd, { recursive: true });
  const session = new EngineSession({
    workerPath: context.asAbsolutePath(path.join('dist', 'worker.js')),
    // The worker's relative paths (runs, an old .locus/stats cache it still reads) land in the workspace, else in
    // global storage; statistics are cached per user (locus.statsCacheDir, default ~/.cache/locus/stats).
    cwd: workerCwd,
    log,
    threads: () => config().get<number>('threads', 0) || undefined,
    device: () => config().get<'cpu' | 'webgpu' | 'cuda'>('device', 'cpu'),
    allowNonFinite: () => config().get<boolean>('allowNonFinite', false),
    initialModel: () => config().get<string>('model', 'default') || 'default',
    initialDataset: () => config().get<string>('datasetPath', '') || undefined,
    withDefaults: (method, params) =>
      withSettings(method, params, {
        hparams: config().get<Record<string, Record<string, unknown>>>('edit.hparams', {}),
        statsCorpus: config().get<string>('statsCorpus', ''),
        traceNoise: config().get<string>('trace.noise', 's3'),
        statsDir: config().get<string>('statsDir', ''),
        statsCacheDir: config().get<string>('statsCacheDir', ''),
      }),
    memory: {
      get: () => context.workspaceState.get<SavedEdits>(SAVED_EDITS_KEY),
      update: (value) => context.workspaceState.update(SAVED_EDITS_KEY, value),
    },
  });
  const runsStore = new RunsStore(() => {
    const ws = workspaceDir();
    return ws ? path.join(ws, '.locus', 'runs') : undefined;
  });
  const facts = new FactsView(session);
  const runs = new RunsView(runsStore);
  const factsTree = vscode.window.createTreeView('locus.facts', { treeDataProvider: facts, showCollapseAll: true });
  facts.view = factsTree;
  const panelContext = { extensionUri: context.extensionUri, session, runs: runsStore, log };
  const panels = panelOpeners(panelContext);

  context.subscriptions.push(
    out,
    session,
    runs,
    factsTree,
    createStatusBar(session),
    panels,
    ...registerPanelSerializers(panelContext),
    vscode.window.registerTreeDataProvider('locus.model', new ModelView(session)),
    vscode.window.registerTreeDataProvider('locus.edits', new EditsView(session)),
    vscode.window.registerTreeDataProvider('locus.runs', runs),
    ...registerCommands({ session, facts, runs, panels, showLog: () => out.show(), version: String((context.extension.packageJSON as { version?: string }).version) }),
    vscode.languages.registerHoverProvider([{ scheme: 'file' }, { scheme: 'untitled' }], new SelectionHover(session)),
    vscode.languages.registerCodeLensProvider({ language: 'locus-prompts' }, new PromptsCodeLens()),
    // Changing the model or dataset setting loads it now (failures are reported, the previous one stays).
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('locus.model')) void vscode.commands.executeCommand('locus.loadModelFromPath', config().get<string>('model', 'default') || 'default');
      if (e.affectsConfiguration('locus.datasetPath')) {
        const file = config().get<string>('datasetPath', '');
        void vscode.commands.executeCommand(file ? 'locus.openDatasetFromPath' : 'locus.useBundledDataset', ...(file ? [file] : []));
      }
    }),
  );
  const activationMs = performance.now() - t0;
  log(`Locus activated in ${activationMs.toFixed(1)} ms (the engine starts in a worker on first use)`);
  return { activationMs, session };
}

export function deactivate(): void {}
