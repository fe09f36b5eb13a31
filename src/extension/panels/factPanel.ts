/**
 * The Fact panel (issue 6 §4), host side: one panel per fact (a CounterFact record or a free prompt)
 * or per saved run. It resolves the fact, probes it on open, runs traces and edits in the worker with
 * progress and cancel, saves each result under .locus/runs/, and keeps the latest results while the
 * panel lives so a reloaded webview gets them back on `panel/ready`.
 */
import * as vscode from 'vscode';
import type { EditResultDto, ProbeResultDto, TraceResultDto } from '../../protocol/dto';
import type { EditFormValues, FactFromWebview, FactToWebview, FactView, ModelSummary, SaveNote, SavedEditData, SavedTraceData, TraceOptions, TracePreviewView, TraceStreamView } from '../../protocol/panels/fact';
import { TRACE_KIND_NAMES } from '../../protocol/panels/fact';
import type { RetraceResultDto, TraceCellDto, TraceParams, TracePreviewDto, TraceStreamDto } from '../../protocol/engine';
import { errorMessage } from '../engineSession';
import { ComparePanel } from './comparePanel';
import type { FactRef, PanelContext } from './context';
import { cancelledAtGate, costGate, traceCostParams, withEstimate } from './costGate';
import { PanelHost } from './host';
import { checkEditForm, checkTraceOptions, factFromPrompt, factFromRecord, factKey, modelSummary, packGrid, packRetrace, packTrace } from './wire';

type Source = { readonly kind: 'live'; readonly ref: FactRef } | { readonly kind: 'saved'; readonly file: string; readonly created: string };
type Running = { probe?: string; trace?: string; edit?: string; revert?: string };

/** The attribution preview packed for the wire as a trace is (grids as Float32Array, the answer as its text). */
function packPreview(p: TracePreviewDto): TracePreviewView {
  const { ids: _ids, answer, grids, ...rest } = p;
  return { ...rest, answer: answer.token, grids: TRACE_KIND_NAMES.filter((k) => grids[k]).map((k) => packGrid(k, grids[k]!.window, grids[k]!.scores)) };
}

export class FactPanel {
  static readonly viewType = 'locus.fact';
  private static readonly open = new Map<string, FactPanel>();

  private readonly host: PanelHost<FactToWebview, FactFromWebview>;
  private fact: FactView | null = null;
  private model: ModelSummary | null = null;
  private resolved?: Promise<string | undefined>;
  private probe?: ProbeResultDto;
  private trace?: { dto: TraceResultDto; note: SaveNote };
  private edit?: EditResultDto & SaveNote;
  private retrace?: RetraceResultDto;
  /** The running trace's attribution preview and the exact cells streamed since (a reloaded webview gets them back). */
  private stream?: { readonly requestId: string; readonly preview: TracePreviewView; readonly cells: TraceCellDto[] };
  private readonly running: Running = {};
  /** The fingerprint of the model that probe/trace/edit were computed on. */
  private resultsModel?: string;

  /** Opens (or reveals) the panel of a dataset record or a free prompt. */
  static show(ctx: PanelContext, fact: FactRef, restored?: vscode.WebviewPanel): FactPanel {
    const key = factKey(fact);
    const existing = FactPanel.open.get(key);
    if (existing) {
      restored?.dispose();
      existing.host.panel.reveal();
      return existing;
    }
    const title = 'caseId' in fact ? `Fact ${fact.caseId}` : `Trace: ${fact.subject}`;
    return new FactPanel(ctx, key, title, { kind: 'live', ref: fact }, restored);
  }

  /** Reopens a saved trace or edit run as it was (nothing recomputed); a saved sweep opens in the Compare panel. */
  static showSavedRun(ctx: PanelContext, file: string, restored?: vscode.WebviewPanel): FactPanel | ComparePanel {
    const run = ctx.runs.read<SavedTraceData | SavedEditData>(file);
    if (run.kind === 'sweep') return ComparePanel.showSavedRun(ctx, file, restored);
    const key = `saved:${file}`;
    const existing = FactPanel.open.get(key);
    if (existing) {
      restored?.dispose();
      existing.host.panel.reveal();
      return existing;
    }
    const data = run.data;
    if (!data || typeof data !== 'object' || !data.fact || (run.kind === 'trace' ? !('trace' in data) : !('edit' in data))) {
      throw new Error(`${file} is a ${run.kind} run without the Fact panel's data (fact and ${run.kind})`);
    }
    const panel = new FactPanel(ctx, key, `${run.kind === 'trace' ? 'Trace' : 'Edit'}: ${run.label}`, { kind: 'saved', file, created: run.created }, restored);
    panel.fact = data.fact;
    panel.model = data.model;
    if ('trace' in data) panel.trace = { dto: data.trace, note: { savedAs: file } };
    if ('edit' in data) panel.edit = { ...data.edit, savedAs: file };
    return panel;
  }

  private constructor(
    private readonly ctx: PanelContext,
    private readonly key: string,
    title: string,
    private readonly source: Source,
    restored?: vscode.WebviewPanel,
  ) {
    FactPanel.open.set(key, this);
    this.host = new PanelHost<FactToWebview, FactFromWebview>({
      ctx,
      viewType: FactPanel.viewType,
      origin: source.kind === 'live' ? { kind: 'fact', ref: source.ref } : { kind: 'saved-run', file: source.file },
      existing: restored,
      title,
      bundle: 'fact',
      handlers: {
        'panel/ready': () => this.sendInit(),
        'probe/start': (m) => this.runProbe(m.requestId),
        'trace/start': (m) => this.runTrace(m.requestId, m.options),
        'retrace/start': (m) => this.runRetrace(m.requestId, m.options),
        'edit/start': (m) => this.runEdit(m.requestId, m.form),
        'edit/revert': (m) => this.revert(m.requestId, m.id),
        'lens/open': () => this.openLens(),
      },
      onDidDispose: () => {
        FactPanel.open.delete(this.key);
        sessionListener.dispose();
        this.probe = undefined;
        this.trace = undefined;
        this.edit = undefined;
        this.retrace = undefined;
      },
    });
    // A saved run shows numbers from the past: the live stack and model are not its business.
    const sessionListener = ctx.session.onDidChange((what) => {
      if (this.source.kind !== 'live') return;
      if (what === 'edits') this.host.post({ type: 'edit/applied', applied: this.applied() });
      if (what === 'model') {
        // Results of another model (a new load; not the same weights after a worker restart or a refused
        // folder) would show under the new model's name: drop them, and the webview probes again.
        const fingerprint = ctx.session.model?.fingerprint;
        if (fingerprint !== undefined && this.resultsModel !== undefined && fingerprint !== this.resultsModel) {
          this.probe = undefined;
          this.trace = undefined;
          this.edit = undefined;
          this.retrace = undefined;
        }
        this.resultsModel = fingerprint ?? this.resultsModel;
        this.model = modelSummary(ctx.session.model);
        void this.sendInit();
      }
    });
  }

  /** Reveals the panel. */
  reveal(): void {
    this.host.panel.reveal();
  }

  private applied(): string[] {
    return this.ctx.session.edits.edits.map((e) => e.id);
  }

  /** Loads the model and dataset if needed and finds the fact; answers an error message, or undefined. */
  private resolve(): Promise<string | undefined> {
    this.resolved ??= (async () => {
      if (this.source.kind !== 'live') return undefined;
      const ref = this.source.ref;
      try {
        if (!('caseId' in ref)) this.fact = factFromPrompt(ref.prompt, ref.subject, ref.target);
        await this.ctx.session.ready();
        this.model = modelSummary(this.ctx.session.model);
        this.resultsModel = this.ctx.session.model?.fingerprint;
        if ('caseId' in ref) {
          const record = this.ctx.session.dataset?.records.find((r) => r.case_id === ref.caseId);
          if (!record) return `The loaded dataset (${this.ctx.session.dataset?.path ?? 'none'}) has no fact with case id ${ref.caseId}.`;
          this.fact = factFromRecord(record);
        }
        return undefined;
      } catch (e) {
        this.resolved = undefined; // try again on the next panel/ready (e.g. after the user picks another model)
        return errorMessage(e);
      }
    })();
    return this.resolved;
  }

  private async sendInit(): Promise<void> {
    const error = await this.resolve();
    this.host.post({
      type: 'fact/init',
      fact: this.fact,
      model: this.model,
      ...(error !== undefined ? { error } : {}),
      ...(this.source.kind === 'saved' ? { saved: { file: this.source.file, created: this.source.created } } : {}),
      ...(this.probe ? { probe: this.probe } : {}),
      ...(this.trace ? { trace: { ...packTrace(this.trace.dto), ...this.trace.note } } : {}),
      ...(this.edit ? { edit: this.edit } : {}),
      ...(this.retrace ? { retrace: packRetrace(this.retrace) } : {}),
      ...(this.stream && this.running.trace === this.stream.requestId ? { traceStream: this.stream satisfies TraceStreamView } : {}),
      applied: this.source.kind === 'live' ? this.applied() : [],
      running: { ...this.running },
    });
  }

  /** The live fact, or an error for the webview's job (a saved run or an unresolved fact cannot run jobs). */
  private liveFact(requestId: string): FactView | undefined {
    if (this.source.kind === 'live' && this.fact) return this.fact;
    const message = this.source.kind === 'saved' ? 'This is a saved run; open the fact from the Facts view to run it again.' : 'The fact could not be loaded (see the message above).';
    this.host.post({ type: 'job/error', requestId, message, cancelled: false });
    return undefined;
  }

  /** Tracks a job in `running` (for a reloaded webview) for its whole life. */
  private async track<R>(slot: keyof Running, requestId: string, work: () => Promise<R>): Promise<R> {
    this.running[slot] = requestId;
    try {
      return await work();
    } finally {
      if (this.running[slot] === requestId) delete this.running[slot];
    }
  }

  private async runProbe(requestId: string): Promise<void> {
    const fact = this.liveFact(requestId);
    if (!fact) return;
    await this.track('probe', requestId, () =>
      this.host.runJob(requestId, (o) => this.ctx.session.request('probe/run', { prompt: fact.prompt, k: 10 }, o), (probe) => {
        this.probe = probe;
        this.host.post({ type: 'probe/result', requestId, probe });
      }),
    );
  }

  /** The trace/run and trace/retrace parameters for `fact` with the webview's options, checked. */
  private traceParams(fact: FactView, raw: TraceOptions): TraceParams {
    const options = checkTraceOptions(raw, this.model?.n_layers ?? 1);
    const target = options.target ?? fact.traceTarget;
    return {
      prompt: fact.prompt,
      subject: fact.subject,
      kinds: TRACE_KIND_NAMES,
      ...(options.window !== undefined ? { window: options.window } : {}),
      ...(options.samples !== undefined ? { samples: options.samples } : {}),
      ...(target !== undefined ? { target } : {}),
    };
  }

  private async runTrace(requestId: string, raw: TraceOptions): Promise<void> {
    const fact = this.liveFact(requestId);
    if (!fact) return;
    // The panel's "Preview" checkbox (absent: on); checkTraceOptions keeps only the engine request's options.
    const preview = (raw as { preview?: unknown } | null | undefined)?.preview !== false;
    await this.track('trace', requestId, () =>
      this.host.runJob(
        requestId,
        async (o) => {
          // The cost preview (issue 19 item 5): above locus.confirmCostAboveSeconds the user confirms first.
          const params = this.traceParams(fact, raw);
          const gate = await costGate(this.ctx, 'trace grid', traceCostParams(params), o);
          if (gate === undefined) throw cancelledAtGate();
          const counted = withEstimate(o, gate);
          return this.ctx.session.request('trace/run', { ...params, ...(preview ? { preview: true } : {}) }, {
            ...o,
            // Streamed grids go to the webview whole; the host's runJob thins only the counts it forwards.
            onProgress: (p) => {
              this.streamTrace(requestId, p.trace);
              counted.onProgress?.(p);
            },
          });
        },
        (dto) => {
          const note = this.save('trace', `${fact.subject} trace`, { fact, model: this.model, trace: dto } satisfies SavedTraceData);
          this.trace = { dto, note };
          this.host.post({ type: 'trace/result', requestId, trace: { ...packTrace(dto), ...note } });
        },
      ),
    );
    if (this.stream?.requestId === requestId) this.stream = undefined;
  }

  /** Forwards a trace's attribution preview and its exact cells as they arrive (issue 19 item 4). */
  private streamTrace(requestId: string, s: TraceStreamDto | undefined): void {
    if (s?.preview) {
      this.stream = { requestId, preview: packPreview(s.preview), cells: [] };
      this.host.post({ type: 'trace/preview', requestId, preview: this.stream.preview });
    }
    if (s?.cells && this.stream?.requestId === requestId) {
      this.stream.cells.push(...s.cells);
      this.host.post({ type: 'trace/cells', requestId, cells: s.cells });
    }
  }

  /** The logit lens of the fact's prompt, scoring its true answer (or the traced / top-1 answer of a free prompt). */
  private async openLens(): Promise<void> {
    if (!this.fact) return;
    const answer = this.fact.targetTrue ?? this.fact.traceTarget ?? this.trace?.dto.answer.token ?? this.probe?.top[0]?.token;
    await vscode.commands.executeCommand('locus.openLogitLens', { prompt: this.fact.prompt, ...(answer !== undefined ? { answer } : {}) });
  }

  /** The fact traced with the applied edits and without them (the worker lifts and puts them back): shown, not saved as a run. */
  private async runRetrace(requestId: string, raw: TraceOptions): Promise<void> {
    const fact = this.liveFact(requestId);
    if (!fact) return;
    await this.track('trace', requestId, () =>
      this.host.runJob(
        requestId,
        async (o) => this.ctx.session.request('trace/retrace', this.traceParams(fact, raw), o),
        (dto) => {
          this.retrace = dto;
          this.host.post({ type: 'retrace/result', requestId, retrace: packRetrace(dto) });
        },
      ),
    );
  }

  private async runEdit(requestId: string, raw: EditFormValues): Promise<void> {
    const fact = this.liveFact(requestId);
    if (!fact) return;
    if (!fact.canEdit || fact.caseId === undefined) {
      this.host.post({ type: 'job/error', requestId, message: fact.editNote ?? 'This fact cannot be edited.', cancelled: false });
      return;
    }
    const caseId = fact.caseId;
    await this.track('edit', requestId, () =>
      this.host.runJob(
        requestId,
        async (o) => {
          const form = checkEditForm(raw, this.model?.n_layers ?? 1, this.model?.methods?.map((m) => m.id));
          const edit = await this.ctx.session.request('edit/run', { ...form, caseIds: [caseId], details: true }, o);
          return { form, edit };
        },
        ({ form, edit }) => {
          const layers = edit.layers.join('-');
          const note = this.save('edit', `${fact.subject} ${edit.method} L${layers} ${edit.problem}`, { fact, model: this.model, form, edit } satisfies SavedEditData);
          this.edit = { ...edit, ...note };
          this.host.post({ type: 'edit/result', requestId, edit: this.edit });
        },
      ),
    );
  }

  private async revert(requestId: string, id: string): Promise<void> {
    if (!this.liveFact(requestId)) return;
    await this.track('revert', requestId, () =>
      this.host.runJob(requestId, (o) => this.ctx.session.request('edit/revert', { id: String(id) }, o), (stack) => {
        this.host.post({ type: 'edit/applied', applied: stack.edits.map((e) => e.id) });
      }),
    );
  }

  /** Saves a result under .locus/runs; without a workspace folder it is not saved, and the panel says so. */
  private save(kind: 'trace' | 'edit', label: string, data: SavedTraceData | SavedEditData): SaveNote {
    try {
      return { savedAs: this.ctx.runs.save(kind, label, data) };
    } catch (e) {
      this.ctx.log(`[fact panel] ${kind} not saved: ${errorMessage(e)}`);
      return { note: `Not saved: ${errorMessage(e)}.` };
    }
  }

  /** Every open Fact panel (for tests and for commands that act on "the" fact). */
  static get all(): readonly FactPanel[] {
    return [...FactPanel.open.values()];
  }

  /** For vscode.Disposable lists. */
  static disposeAll(): void {
    for (const p of [...FactPanel.open.values()]) p.host.dispose();
  }
}

