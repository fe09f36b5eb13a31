/**
 * Every `locus.*` command (package.json lists them under the "Locus" category). Commands that change
 * what is loaded validate before touching the worker and report failures as one readable message;
 * panels are opened through `PanelOpeners` so this file does not depend on any panel's implementation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProbeResultDto } from '../protocol/dto';
import type { EngineSession } from './engineSession';
import { errorMessage } from './engineSession';
import { isCancellation } from './errors';
import { openCachedModel } from './openCachedModel';
import type { FactRef } from './panels/context';
import { askSubject, showProbe } from './probing/probe';
import type { RunKind } from './runs';
import type { FactsView } from './views/factsView';
import type { RunsView } from './views/runsView';

export interface PanelOpeners {
  openFact(ref: FactRef): void;
  openSavedRun(file: string): void;
  openCompare(args: { caseId?: number }): void;
  openStudy(dir: string): void;
  runStudy(): Promise<void>;
  /** "Locus: Sequential Editing…" (a new run, or a saved one reopened). */
  sequentialEditing(): Promise<void>;
  /** "Locus: Logit Lens…": `{ prompt, answer? }` (the Fact panel, a script), or asks for a prompt. */
  openLogitLens(arg?: unknown): Promise<void>;
}

export interface CommandDeps {
  readonly session: EngineSession;
  readonly facts: FactsView;
  readonly runs: RunsView;
  readonly panels: PanelOpeners;
  readonly showLog: () => void;
  readonly version: string;
}

/** Runs a slow session call with a notification; failures become an error message (never an unhandled rejection). */
async function withNotice<T>(title: string, run: () => Promise<T>, failure: string): Promise<T | undefined> {
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Locus: ${title}` }, run);
  } catch (e) {
    // A cancelled request (the worker shutting down or restarting) is no failure to report.
    if (!isCancellation(e)) void vscode.window.showErrorMessage(`Locus: ${failure}: ${errorMessage(e)}`);
    return undefined;
  }
}

export function registerCommands(d: CommandDeps): vscode.Disposable[] {
  const { session } = d;
  const loadModel = async (model: string) => {
    const info = await withNotice(`loading ${model === 'default' ? 'the embedded model' : model}…`, () => session.loadModel(model), `could not load ${model}`);
    if (info) void vscode.window.showInformationMessage(`Locus: loaded ${info.name} (${info.architecture}, ${info.n_layers} layers, ${(info.parameters / 1e6).toFixed(1)} M parameters).`);
  };
  const loadDataset = async (file: string | undefined) => {
    const ds = await withNotice(`reading ${file ?? 'the bundled CounterFact sample'}…`, () => session.loadDataset(file), `could not read the CounterFact file ${file ?? ''}`.trim());
    if (ds) void vscode.window.showInformationMessage(`Locus: ${ds.count} facts from ${path.basename(ds.path)}.`);
  };
  const pickFolder = async (title: string) => (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title }))?.[0]?.fsPath;
  const selectionPrompt = (): { prompt: string; hint?: string } | undefined => {
    const ed = vscode.window.activeTextEditor;
    const [first, second] = ed?.selections ?? [];
    if (!ed || !first || first.isEmpty) {
      void vscode.window.showWarningMessage('Locus: select the prompt text first.');
      return undefined;
    }
    // A whole-line selection ends with a newline: the prompt is what the model reads, so trailing whitespace goes.
    return { prompt: ed.document.getText(first).replace(/\s+$/, ''), hint: second && !second.isEmpty ? ed.document.getText(second).trim() : undefined };
  };
  const lineText = async (uri: vscode.Uri, line: number) => (await vscode.workspace.openTextDocument(uri)).lineAt(line).text.trim();
  const traceFree = async (prompt: string, hint?: string) => {
    const subject = await askSubject(prompt, hint);
    if (subject !== undefined) d.panels.openFact({ prompt, subject: subject.trim() });
  };

  const commands: Record<string, (...args: never[]) => unknown> = {
    'locus.showEngineInfo': () => {
      const m = session.model;
      void vscode.window.showInformationMessage(`Locus ${d.version}: ${m ? `${m.name} (${m.architecture}) on ${m.device}` : 'no model loaded yet'}; worker pid ${session.client.pid ?? 'not started'}.`);
    },
    'locus.useDefaultModel': () => loadModel('default'),
    'locus.loadModel': async () => {
      const dir = await pickFolder('A Hugging Face model folder (config.json, *.safetensors, tokenizer)');
      if (dir) await loadModel(dir);
    },
    'locus.openCachedModel': () => openCachedModel(session, loadModel),
    'locus.loadModelFromPath': async (arg?: string) => {
      const dir = typeof arg === 'string' ? arg : await vscode.window.showInputBox({ title: 'Locus: model folder', prompt: 'Path of a Hugging Face folder (or "default")', ignoreFocusOut: true });
      if (dir?.trim()) await loadModel(dir.trim());
    },
    'locus.openDataset': async () => {
      const file = (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'CounterFact JSON': ['json'] }, title: 'A CounterFact JSON file' }))?.[0]?.fsPath;
      if (file) await loadDataset(file);
    },
    'locus.openDatasetFromPath': async (arg?: string) => {
      const file = typeof arg === 'string' ? arg : await vscode.window.showInputBox({ title: 'Locus: CounterFact file', prompt: 'Path of a CounterFact JSON file', ignoreFocusOut: true });
      if (file?.trim()) await loadDataset(file.trim());
    },
    'locus.useBundledDataset': () => loadDataset(undefined),
    'locus.filterFacts': async () => {
      const text = await vscode.window.showInputBox({ title: 'Locus: filter facts', prompt: 'Subject, target, relation (P17) or case id (#1234)', value: d.facts.filter });
      if (text !== undefined) d.facts.setFilter(text);
    },
    'locus.clearFactsFilter': () => d.facts.setFilter(''),
    'locus.openFact': (caseId?: number) => {
      if (typeof caseId === 'number') d.panels.openFact({ caseId });
    },
    'locus.openFactById': async (arg?: number | string) => {
      const raw = arg ?? (await vscode.window.showInputBox({ title: 'Locus: open fact', prompt: 'CounterFact case_id', validateInput: (s) => (/^\s*#?\d+\s*$/.test(s) ? undefined : 'A case id is a whole number, e.g. 1234') }));
      if (raw === undefined) return;
      const caseId = Number(String(raw).replace('#', '').trim());
      try {
        await session.ready();
      } catch (e) {
        void vscode.window.showErrorMessage(`Locus: ${errorMessage(e)}`);
        return;
      }
      if (!session.dataset?.records.some((r) => r.case_id === caseId)) {
        void vscode.window.showErrorMessage(`Locus: ${session.dataset?.path ?? 'the dataset'} has no fact with case id ${caseId}.`);
        return;
      }
      d.panels.openFact({ caseId });
    },
    'locus.probeSelection': async () => {
      const s = selectionPrompt();
      if (s) await showProbe(session, s.prompt);
    },
    'locus.traceSelection': async () => {
      const s = selectionPrompt();
      if (s) await traceFree(s.prompt, s.hint);
    },
    'locus.probeLine': async (uri: vscode.Uri, line: number) => showProbe(session, await lineText(uri, line)),
    'locus.traceLine': async (uri: vscode.Uri, line: number) => traceFree(await lineText(uri, line)),
    /** For scripts and tests: the top tokens after `text` (asks when no argument). */
    'locus.probeText': async (text?: string): Promise<ProbeResultDto | undefined> => {
      const prompt = typeof text === 'string' ? text : await vscode.window.showInputBox({ title: 'Locus: probe', prompt: 'A prompt' });
      if (!prompt) return undefined;
      return typeof text === 'string' ? session.request('probe/run', { prompt, k: 10 }) : showProbe(session, prompt);
    },
    'locus.revertEdit': async (edit?: { id: string }) => {
      const id = edit?.id ?? (await pickEdit(session, 'Revert which edit?'));
      if (id) await withNotice(`reverting ${id}…`, () => session.request('edit/revert', { id }), `could not revert ${id}`);
    },
    'locus.revertAllEdits': async () => {
      if (session.edits.edits.length === 0) return void vscode.window.showInformationMessage('Locus: no edits are applied.');
      await withNotice('reverting every edit…', () => session.request('edit/revertAll', {}), 'could not revert the edits');
    },
    'locus.exportEditedModel': async () => {
      if (session.edits.edits.length === 0) return void vscode.window.showWarningMessage('Locus: no edits are applied: there is nothing to export.');
      const parent = await pickFolder('Export into a new or empty folder');
      if (!parent) return;
      if (fs.existsSync(parent) && fs.readdirSync(parent).length > 0) return void vscode.window.showErrorMessage(`Locus: ${parent} is not empty: choose a new or empty folder (the source model is never overwritten).`);
      const r = await withNotice(`exporting to ${parent}…`, () => session.request('edit/export', { dir: parent }), 'export failed');
      if (r) void vscode.window.showInformationMessage(`Locus: wrote ${r.dir} with edits ${r.edits.join(', ')}.`);
    },
    // From the palette (no argument), a fact's context menu in the Facts view (its tree node) or a script (a case id).
    'locus.openCompare': (arg?: number | { kind: string; record?: { case_id: number } }) =>
      d.panels.openCompare({ caseId: typeof arg === 'number' ? arg : arg?.record?.case_id }),
    'locus.runStudy': () => d.panels.runStudy(),
    'locus.sequentialEditing': () => d.panels.sequentialEditing(),
    'locus.openLogitLens': (arg?: unknown) => d.panels.openLogitLens(arg),
    'locus.openStudy': async () => {
      const dir = await pickFolder('A study folder (manifest.json + results.jsonl)');
      if (dir) d.panels.openStudy(dir);
    },
    'locus.openRun': (file: string, kind: RunKind) => (kind === 'study' ? d.panels.openStudy(file) : d.panels.openSavedRun(file)),
    'locus.refreshRuns': () => d.runs.refresh(),
    'locus.restartWorker': () => withNotice('restarting the worker…', () => session.client.restart(), 'could not restart the worker'),
    'locus.showLog': () => d.showLog(),
  };
  return Object.entries(commands).map(([id, run]) => vscode.commands.registerCommand(id, run as (...args: unknown[]) => unknown));
}

async function pickEdit(session: EngineSession, title: string): Promise<string | undefined> {
  const items = session.edits.edits.map((e) => ({ label: e.id, description: `${e.method} ${e.layers.join(',')} ${e.subjects.join('; ')}` }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage('Locus: no edits are applied.');
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title }))?.label;
}
