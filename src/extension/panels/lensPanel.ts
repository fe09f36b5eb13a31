/**
 * The Logit Lens panel (issue 19 item 3), host side, and "Locus: Logit Lens…": what every layer already
 * "says" about a prompt — each layer's residual stream decoded through the final norm and unembedding
 * (nostalgebraist 2020) by the worker's `lens/run` (`locus lens`). One panel per prompt, opened beside
 * the active editor or panel (the Fact panel calls the command with its prompt and true answer). The
 * webview runs the lens when it has no result; answer and K come from its form. The panel keeps its
 * last result while it lives, re-sent on `panel/ready`, and says when the model or the edits changed.
 */
import * as vscode from 'vscode';
import type { LensFromWebview, LensRequestView, LensToWebview, LensView } from '../../protocol/panels/lens';
import { LENS_DEFAULT_TOP } from '../../protocol/panels/lens';
import { errorMessage } from '../engineSession';
import type { PanelContext } from './context';
import { PanelHost } from './host';
import type { LensArgs } from './lensData';
import { checkLensForm, lensArgs, lensKey, lensTitle } from './lensData';

export class LensPanel {
  static readonly viewType = 'locus.lens';
  private static readonly open = new Map<string, LensPanel>();

  private readonly host: PanelHost<LensToWebview, LensFromWebview>;
  private request: LensRequestView;
  private view?: LensView;
  /** The fingerprint of the model `view` was computed on. */
  private viewModel?: string;
  private stale?: string;
  private running?: string;

  /** Opens (or reveals) the panel of `args.prompt`; a new answer for an open panel decodes again with it. */
  static show(ctx: PanelContext, args: LensArgs, restored?: vscode.WebviewPanel): LensPanel {
    const key = lensKey(args.prompt);
    const existing = LensPanel.open.get(key);
    if (existing) {
      restored?.dispose();
      existing.host.panel.reveal(undefined, false);
      if (args.answer !== undefined && args.answer !== existing.request.answer && !existing.running) {
        existing.request = { ...existing.request, answer: args.answer };
        existing.view = undefined;
        void existing.sendInit();
      }
      return existing;
    }
    return new LensPanel(ctx, key, args, restored);
  }

  private constructor(
    private readonly ctx: PanelContext,
    private readonly key: string,
    args: LensArgs,
    restored?: vscode.WebviewPanel,
  ) {
    LensPanel.open.set(key, this);
    this.request = { prompt: args.prompt, top: LENS_DEFAULT_TOP, ...(args.answer !== undefined ? { answer: args.answer } : {}) };
    this.host = new PanelHost<LensToWebview, LensFromWebview>({
      ctx,
      viewType: LensPanel.viewType,
      origin: { kind: 'lens', prompt: args.prompt, ...(args.answer !== undefined ? { answer: args.answer } : {}) },
      existing: restored,
      title: lensTitle(args.prompt),
      bundle: 'lens',
      column: vscode.ViewColumn.Beside,
      handlers: {
        'panel/ready': () => this.sendInit(),
        'lens/start': (m) => this.run(m.requestId, m),
      },
      onDidDispose: () => {
        LensPanel.open.delete(this.key);
        sessionListener.dispose();
        this.view = undefined;
      },
    });
    const sessionListener = ctx.session.onDidChange((what) => {
      if (!this.view) return;
      if (what === 'edits') this.markStale('The applied edits changed since this was decoded: Run again to decode the model as it is now.');
      // A worker restart reloads the same weights (same fingerprint): the result still holds.
      if (what === 'model' && ctx.session.model?.fingerprint !== undefined && ctx.session.model.fingerprint !== this.viewModel) {
        this.markStale(`The model changed (now ${ctx.session.model.name}) since this was decoded: Run again.`);
      }
    });
  }

  private markStale(reason: string): void {
    this.stale = reason;
    this.host.post({ type: 'lens/stale', reason });
  }

  /** Loads the model if needed; answers an error message, or undefined. */
  private async modelError(): Promise<string | undefined> {
    try {
      await this.ctx.session.ready();
      return this.ctx.session.model ? undefined : 'No model is loaded: pick one in the Locus side bar (Model).';
    } catch (e) {
      return errorMessage(e);
    }
  }

  private async sendInit(): Promise<void> {
    const error = this.view || this.running ? undefined : await this.modelError();
    const m = this.ctx.session.model;
    this.host.post({
      type: 'lens/init',
      request: this.request,
      model: m ? { name: m.name, n_layers: m.n_layers } : null,
      ...(this.view ? { view: this.view } : {}),
      ...(error !== undefined ? { error } : {}),
      ...(this.running ? { running: this.running } : {}),
    });
    if (this.stale && this.view) this.host.post({ type: 'lens/stale', reason: this.stale });
  }

  private async run(requestId: string, form: { readonly answer?: unknown; readonly top?: unknown }): Promise<void> {
    this.running = requestId;
    try {
      await this.host.runJob(
        requestId,
        async (o) => {
          const request = checkLensForm(this.request.prompt, form);
          this.request = request;
          const t0 = Date.now();
          const result = await this.ctx.session.request('lens/run', { prompt: request.prompt, top: request.top, ...(request.answer !== undefined ? { answer: request.answer } : {}) }, o);
          const model = this.ctx.session.model;
          this.viewModel = model?.fingerprint;
          const view: LensView = { request, result, model: model?.name ?? '', edits: this.ctx.session.edits.edits.map((e) => e.id), seconds: (Date.now() - t0) / 1000 };
          return view;
        },
        (view) => {
          this.view = view;
          this.stale = undefined;
          this.host.post({ type: 'lens/result', requestId, view });
        },
      );
    } finally {
      if (this.running === requestId) this.running = undefined;
    }
  }

  /** For vscode.Disposable lists. */
  static disposeAll(): void {
    for (const p of [...LensPanel.open.values()]) p.host.dispose();
  }
}

/** The prompt to offer in the input box: the active editor's selection, if any (one line). */
function selectedText(): string | undefined {
  const ed = vscode.window.activeTextEditor;
  if (!ed || ed.selection.isEmpty) return undefined;
  return ed.document.getText(ed.selection).replace(/\s+$/, '');
}

/**
 * "Locus: Logit Lens…": with `{ prompt, answer? }` (the Fact panel, a script) it opens that prompt's
 * panel; without, it asks for a prompt (an empty one or Escape does nothing).
 */
export async function openLogitLensCommand(ctx: PanelContext, arg?: unknown): Promise<void> {
  let args: LensArgs | undefined;
  try {
    args = lensArgs(arg);
  } catch (e) {
    void vscode.window.showErrorMessage(`Locus: ${errorMessage(e)}`);
    return;
  }
  if (!args) {
    const prompt = await vscode.window.showInputBox({
      title: 'Locus: Logit Lens',
      prompt: 'A prompt: every layer\'s guess for the next token at each of its positions',
      value: selectedText(),
      placeHolder: 'The Eiffel Tower is located in the city of',
      ignoreFocusOut: true,
    });
    if (prompt === undefined || prompt.trim() === '') return;
    args = { prompt };
  }
  LensPanel.show(ctx, args);
}
