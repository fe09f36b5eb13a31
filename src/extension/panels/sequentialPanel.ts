/**
 * The Sequential Editing panel (host side) and "Locus: Sequential Editing…". The panel shows one run
 * folder (`<workspace>/.locus/runs/<name>`, engine methods/sequential): the curves of all edits so far
 * against the number of edits (scores, held-out perplexity, ‖W‖ growth). While the worker runs it
 * (`sequential/run`), every progress report re-reads the folder, so the curves grow batch by batch; a
 * partial run resumes from the panel. One panel per folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SequentialFromWebview, SequentialRunParams, SequentialToWebview, SequentialView } from '../../protocol/panels/sequential';
import { errorMessage } from '../engineSession';
import type { RequestOptions } from '../workerClient';
import type { PanelContext } from './context';
import { PanelHost } from './host';
import { isSequentialRun, sequentialView } from './sequentialData';

export class SequentialPanel {
  static readonly viewType = 'locus.sequential';
  private static readonly panels = new Map<string, SequentialPanel>();
  private readonly host: PanelHost<SequentialToWebview, SequentialFromWebview>;
  private view: SequentialView | null = null;
  private error: string | undefined;
  private running: string | undefined;
  /** The run to start when the webview first asks (a new run opened by the command). */
  private pending: SequentialRunParams | undefined;

  /** Opens the panel of `dir` (starting `start` in it, if given), or reveals the one already open. */
  static show(ctx: PanelContext, dir: string, start?: SequentialRunParams, restored?: vscode.WebviewPanel): SequentialPanel {
    const key = path.resolve(dir);
    const open = SequentialPanel.panels.get(key);
    if (open && !open.host.isDisposed) {
      restored?.dispose();
      open.host.panel.reveal();
      if (start && !open.running) open.pending = start;
      open.postInit();
      return open;
    }
    const panel = new SequentialPanel(ctx, key, start, restored);
    SequentialPanel.panels.set(key, panel);
    return panel;
  }

  private constructor(
    private readonly ctx: PanelContext,
    readonly dir: string,
    start: SequentialRunParams | undefined,
    restored?: vscode.WebviewPanel,
  ) {
    this.pending = start;
    this.host = new PanelHost<SequentialToWebview, SequentialFromWebview>({
      ctx,
      viewType: SequentialPanel.viewType,
      origin: { kind: 'sequential', dir },
      existing: restored,
      title: `Sequential: ${path.basename(dir)}`,
      bundle: 'sequential',
      handlers: {
        'panel/ready': () => this.postInit(),
        'sequential/reload': (m) => this.reload(m.requestId),
        'sequential/resume': (m) => this.run(m.requestId, this.pending ?? { dir: this.dir }),
      },
      onDidDispose: () => SequentialPanel.panels.delete(dir),
    });
  }

  private read(): SequentialView | null {
    try {
      this.view = fs.existsSync(path.join(this.dir, 'manifest.json')) ? sequentialView(this.dir) : null;
      this.error = undefined;
    } catch (e) {
      this.error = errorMessage(e);
    }
    return this.view;
  }

  private postInit(): void {
    this.read();
    this.host.post({ type: 'sequential/init', dir: this.dir, view: this.view, ...(this.error ? { error: this.error } : {}), ...(this.running ? { running: this.running } : this.pending ? { running: 'pending' } : {}) });
  }

  private async reload(requestId: string): Promise<void> {
    await this.host.runJob(requestId, async () => {
      const view = this.read();
      if (!view) throw new Error(this.error ?? `${this.dir} holds no sequential run yet`);
      return view;
    }, (view) => this.host.post({ type: 'sequential/view', view }));
  }

  private async run(requestId: string, params: SequentialRunParams): Promise<void> {
    this.pending = undefined;
    this.running = requestId;
    let seen = -1;
    const work = async (o: RequestOptions): Promise<SequentialView | null> => {
      const onProgress: RequestOptions['onProgress'] = (p) => {
        o.onProgress?.(p);
        // A new batch finished: its point (if measured) is in batches.jsonl now.
        if (p.done !== undefined && p.done !== seen) {
          seen = p.done;
          const view = this.read();
          if (view) this.host.post({ type: 'sequential/view', view });
        }
      };
      try {
        const r = await this.ctx.session.request('sequential/run', params, { ...o, onProgress });
        this.ctx.log(`[sequential] ${this.dir}: ${r.done}/${r.requests} edits (${r.resumed} batches resumed) in ${r.seconds.toFixed(1)} s`);
      } finally {
        const view = this.read();
        if (view) this.host.post({ type: 'sequential/view', view });
      }
      return this.view;
    };
    try {
      await this.host.runJob(requestId, work, () => undefined);
    } finally {
      this.running = undefined;
    }
  }
}

const SOURCE_ITEMS = [
  { id: 'known', label: 'Facts the model knows', description: 'the first N facts of the loaded dataset the model gets right' },
  { id: 'ids', label: 'Dataset cases by id', description: 'case_ids and ranges of the loaded dataset' },
  { id: 'file', label: 'A requests file…', description: 'a JSON list of requests (CounterFact records or requested_rewrite objects)' },
  { id: 'open', label: 'Open a saved run…', description: 'a folder with a sequential run\'s manifest.json' },
] as const;

/** "Locus: Sequential Editing…": a new run (source, method, batch size, name) opened in the panel, or a saved run reopened. */
export async function sequentialEditingCommand(ctx: PanelContext): Promise<void> {
  const title = 'Locus: Sequential Editing';
  const source = await vscode.window.showQuickPick(SOURCE_ITEMS.map((s) => ({ ...s })), { title, placeHolder: 'What to edit, one batch after another', ignoreFocusOut: true });
  if (!source) return;
  if (source.id === 'open') {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'A sequential run folder (manifest.json + batches.jsonl)', defaultUri: ctx.runs.dir ? vscode.Uri.file(ctx.runs.dir) : undefined });
    const dir = picked?.[0]?.fsPath;
    if (!dir) return;
    if (!isSequentialRun(dir)) {
      void vscode.window.showErrorMessage(`Locus: ${dir} holds no sequential run (no manifest.json of kind locus-sequential).`);
      return;
    }
    SequentialPanel.show(ctx, dir);
    return;
  }
  const root = ctx.runs.dir;
  if (!root) {
    void vscode.window.showErrorMessage('Locus: open a folder first: a sequential run is saved under .locus/runs/ in the workspace folder.');
    return;
  }
  let what: Pick<SequentialRunParams, 'requestsFile' | 'cases'>;
  if (source.id === 'file') {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { JSON: ['json'] }, title: 'Requests file (a JSON list)' });
    if (!picked?.[0]) return;
    what = { requestsFile: picked[0].fsPath };
  } else {
    const cases = await vscode.window.showInputBox({ title, prompt: source.id === 'known' ? 'How many known facts ("known:N")' : 'case_ids and ranges ("0-99", "12,40,77")', value: source.id === 'known' ? 'known:20' : '', ignoreFocusOut: true });
    if (!cases?.trim()) return;
    what = { cases: cases.trim() };
  }
  const methods = ctx.session.model?.methods ?? [];
  const method = await vscode.window.showQuickPick(methods.map((m) => ({ id: m.id, label: m.label, description: m.summary })), { title, placeHolder: 'Editing method', ignoreFocusOut: true });
  if (!method) return;
  const k = await vscode.window.showInputBox({ title, prompt: 'Requests per batch (k ≥ 1): each batch is one edit, computed with every earlier batch applied', value: '1', ignoreFocusOut: true, validateInput: (v) => (/^\s*[1-9]\d*\s*$/.test(v) ? undefined : 'a whole number ≥ 1') });
  if (k === undefined) return;
  const name = await vscode.window.showInputBox({ title, prompt: 'Run name: the folder under .locus/runs/', value: `sequential-${method.id}-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-')}`, ignoreFocusOut: true, validateInput: (v) => (/^[\w.-]+$/.test(v.trim()) ? undefined : 'letters, digits, ".", "-" and "_" only') });
  if (!name) return;
  const dir = path.join(root, name.trim());
  SequentialPanel.show(ctx, dir, { dir, method: method.id, batchSize: Number(k), ...what });
}
