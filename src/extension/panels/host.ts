/**
 * The extension-host half every panel shares: creates the webview (scripts on, resources only from
 * dist/, the CSP shell of html.ts), dispatches the panel's typed messages to handlers, runs jobs keyed
 * by the webview's requestId (progress forwarded as `job/progress`, `job/cancel` cancels, every job
 * ends in exactly one `job/done` or `job/error`), saves exports (`export/save`) where the user picks,
 * and logs `render/timing` notes. Disposing cancels the running jobs and drops every reference;
 * the panel classes keep their state only while their PanelHost lives.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import type { HostToPanel, MessageMap, PanelRequests } from '../../protocol/panels';
import type { RenderTiming } from '../../protocol/panels/fact';
import { errorMessage } from '../engineSession';
import type { RequestOptions } from '../workerClient';
import { EngineError } from '../workerClient';
import type { PanelContext, PanelOrigin } from './context';
import { panelHtml } from './html';
import { exportBytes, safeFileName } from './wire';

/** A message of map M with type K. */
export type Message<M extends MessageMap, K extends keyof M & string> = { readonly type: K } & M[K];

type ExportMessage = { readonly type: 'export/save' } & PanelRequests['export/save'];

/** What a panel handles itself: its own requests and `panel/ready` (job/cancel, export/save, render/timing are the host's). */
export type Handlers<From extends MessageMap> = {
  readonly [K in Exclude<keyof From & string, 'render/timing'>]: (message: Message<From, K>) => void | Promise<void>;
} & { readonly 'panel/ready': () => void | Promise<void> };

export interface PanelHostOptions<From extends MessageMap> {
  readonly ctx: PanelContext;
  readonly viewType: string;
  readonly title: string;
  /** dist/webview/<bundle>.js and .css */
  readonly bundle: string;
  readonly column?: vscode.ViewColumn;
  readonly handlers: Handlers<From>;
  readonly onDidDispose: () => void;
  /** What the panel shows, kept in the webview's state for restoring it after a reload. */
  readonly origin: PanelOrigin;
  /** A panel VS Code restored (its serializer hands it over) instead of a new one. */
  readonly existing?: vscode.WebviewPanel;
}

/** How often job/progress goes to the webview at most (a trace reports every batch of cells). */
const PROGRESS_INTERVAL_MS = 100;

export class PanelHost<To extends MessageMap, From extends MessageMap> implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  private readonly jobs = new Map<string, vscode.CancellationTokenSource>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private disposed = false;

  constructor(private readonly options: PanelHostOptions<From>) {
    const { ctx } = options;
    const webviewOptions = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(ctx.extensionUri, 'dist')] };
    if (options.existing) {
      this.panel = options.existing;
      this.panel.webview.options = webviewOptions;
      this.panel.title = options.title;
    } else {
      // The host re-sends the panel's data on panel/ready, so a hidden panel may drop its DOM.
      this.panel = vscode.window.createWebviewPanel(options.viewType, options.title, options.column ?? vscode.ViewColumn.Active, { ...webviewOptions, retainContextWhenHidden: false });
    }
    this.panel.webview.html = panelHtml(this.panel.webview, ctx.extensionUri, options.bundle, options.title, vscode.Uri.joinPath, options.origin);
    this.subscriptions.push(
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)),
    );
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Sends a message unless the panel is gone (a job that outlives its panel posts into nothing). */
  post(message: HostToPanel<To>): void {
    if (this.disposed) return;
    this.panel.webview.postMessage(message).then(undefined, () => undefined);
  }

  isRunning(requestId: string): boolean {
    return this.jobs.has(requestId);
  }

  /**
   * Runs one job for `requestId`: `work` gets the cancellation token and a progress sink; its value goes
   * to `deliver` (which posts the result message), then `job/done`. A failure posts `job/error`
   * (cancelled: true when the user cancelled). Answers the value, or undefined when the job failed.
   */
  async runJob<R>(requestId: string, work: (options: RequestOptions) => Promise<R>, deliver: (value: R) => void): Promise<R | undefined> {
    if (typeof requestId !== 'string' || requestId === '' || this.jobs.has(requestId)) {
      this.post({ type: 'job/error', requestId: String(requestId), message: 'internal: a job needs a fresh requestId', cancelled: false } as HostToPanel<To>);
      return undefined;
    }
    const source = new vscode.CancellationTokenSource();
    this.jobs.set(requestId, source);
    let last = 0;
    let lastMessage: string | undefined;
    const onProgress: RequestOptions['onProgress'] = (p) => {
      const now = Date.now();
      // Counts are thinned out; the first report, the last one and every new stage message always go.
      const news = p.kind === 'begin' || p.message !== lastMessage || (p.done !== undefined && p.done === p.total);
      if (p.kind === 'end' || (!news && now - last < PROGRESS_INTERVAL_MS)) return;
      last = now;
      lastMessage = p.message;
      this.post({ type: 'job/progress', requestId, message: p.message, done: p.done, total: p.total } as HostToPanel<To>);
    };
    try {
      const value = await work({ token: source.token, onProgress });
      deliver(value);
      this.post({ type: 'job/done', requestId } as HostToPanel<To>);
      return value;
    } catch (e) {
      const cancelled = source.token.isCancellationRequested || (e instanceof EngineError && e.code === 'cancelled');
      const message = errorMessage(e);
      if (!cancelled) this.options.ctx.log(`[${this.options.bundle} panel] ${requestId} failed: ${message}`);
      this.post({ type: 'job/error', requestId, message, cancelled } as HostToPanel<To>);
      return undefined;
    } finally {
      this.jobs.delete(requestId);
      source.dispose();
    }
  }

  private async receive(raw: unknown): Promise<void> {
    if (this.disposed || !raw || typeof raw !== 'object' || typeof (raw as { type?: unknown }).type !== 'string') return;
    const message = raw as { type: string } & Record<string, unknown>;
    try {
      switch (message.type) {
        case 'job/cancel':
          this.jobs.get(String(message.requestId))?.cancel();
          return;
        case 'export/save':
          return await this.saveExport(message as unknown as ExportMessage);
        case 'render/timing': {
          const t = message as unknown as RenderTiming;
          this.options.ctx.log(`[render/timing] ${this.options.bundle} ${String(t.what)}: ${Number(t.ms).toFixed(1)} ms from data to paint`);
          return;
        }
      }
      const handler = (this.options.handlers as Record<string, ((m: unknown) => void | Promise<void>) | undefined>)[message.type];
      if (!handler) {
        this.options.ctx.log(`[${this.options.bundle} panel] ignored unknown message ${message.type}`);
        return;
      }
      await handler(message);
    } catch (e) {
      // Handlers report their own failures in the panel; anything reaching here is a bug worth seeing.
      this.options.ctx.log(`[${this.options.bundle} panel] ${message.type} failed: ${errorMessage(e)}`);
      void vscode.window.showErrorMessage(`Locus: ${errorMessage(e)}`);
    }
  }

  private async saveExport(m: ExportMessage): Promise<void> {
    const png = m.mime === 'image/png';
    const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(base, safeFileName(String(m.suggestedName), png ? 'png' : 'csv')),
      filters: png ? { 'PNG image': ['png'] } : { 'CSV table': ['csv'] },
      title: png ? 'Export chart as PNG' : 'Export data as CSV',
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, exportBytes(m.data));
    vscode.window.setStatusBarMessage(`Locus: saved ${target.fsPath}`, 5000);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const source of this.jobs.values()) source.cancel();
    this.jobs.clear();
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.panel.dispose();
    this.options.onDidDispose();
  }
}
