/**
 * The Compare panel (issue 6 §4), host side: (a) two saved edit runs side by side, picked from the
 * runs store (or preselected by applied-edit ids), (b) a layer sweep of one fact (`sweep/run`), saved
 * as a 'sweep' run. One live Compare panel; saved sweeps open in panels of their own.
 */
import type * as vscode from 'vscode';
import type { SweepResultDto } from '../../protocol/dto';
import type { CaseChoice, CompareFromWebview, CompareToWebview, EditRunChoice, EditSide, SavedSweepData, SweepFormValues, SweepView } from '../../protocol/panels/compare';
import type { ModelSummary, SavedEditData } from '../../protocol/panels/fact';
import { errorMessage } from '../engineSession';
import type { PanelContext } from './context';
import { cancelledAtGate, costGate, withEstimate } from './costGate';
import { PanelHost } from './host';
import { checkSweepForm, factFromRecord, modelSummary } from './wire';

export interface CompareArgs {
  readonly caseId?: number;
  /** Applied-edit ids ("e1", "e2"): the newest saved edit run of each is preselected. */
  readonly editIds?: readonly [string, string];
}

type Source = { readonly kind: 'live' } | { readonly kind: 'saved'; readonly file: string; readonly created: string };

/** Saved edit runs read to match editIds: the newest this many (reading every file of a long history would stall). */
const MATCH_LIMIT = 200;

export class ComparePanel {
  static readonly viewType = 'locus.compare';
  private static live?: ComparePanel;
  private static readonly saved = new Map<string, ComparePanel>();

  private readonly host: PanelHost<CompareToWebview, CompareFromWebview>;
  private args: CompareArgs = {};
  private sweep?: SweepView;
  private left?: EditSide;
  private right?: EditSide;
  private runningSweep?: string;

  /** Opens the Compare panel, or shows the open one with these arguments. */
  static show(ctx: PanelContext, args: CompareArgs = {}, restored?: vscode.WebviewPanel): ComparePanel {
    const existing = ComparePanel.live;
    if (existing) restored?.dispose();
    const panel = existing ?? new ComparePanel(ctx, 'Locus: Compare', { kind: 'live' }, restored);
    ComparePanel.live = panel;
    panel.args = args;
    panel.preselect();
    if (existing) {
      existing.host.panel.reveal();
      void existing.sendInit();
    } // a new panel sends its data when its webview says panel/ready
    return panel;
  }

  /** Reopens a saved sweep run as it was (nothing recomputed). */
  static showSavedRun(ctx: PanelContext, file: string, restored?: vscode.WebviewPanel): ComparePanel {
    const existing = ComparePanel.saved.get(file);
    if (existing) {
      restored?.dispose();
      existing.host.panel.reveal();
      return existing;
    }
    const run = ctx.runs.read<SavedSweepData>(file);
    if (run.kind !== 'sweep' || !run.data?.sweep) throw new Error(`${file} is not a saved sweep`);
    const panel = new ComparePanel(ctx, `Sweep: ${run.label}`, { kind: 'saved', file, created: run.created }, restored);
    ComparePanel.saved.set(file, panel);
    panel.sweep = { fact: run.data.fact, sweep: run.data.sweep, savedAs: file };
    return panel;
  }

  private constructor(
    private readonly ctx: PanelContext,
    title: string,
    private readonly source: Source,
    restored?: vscode.WebviewPanel,
  ) {
    this.host = new PanelHost<CompareToWebview, CompareFromWebview>({
      ctx,
      viewType: ComparePanel.viewType,
      origin: source.kind === 'live' ? { kind: 'compare' } : { kind: 'saved-run', file: source.file },
      existing: restored,
      title,
      bundle: 'compare',
      handlers: {
        'panel/ready': () => this.sendInit(),
        'compare/pick': (m) => this.pick(m.side, m.file),
        'sweep/start': (m) => this.runSweep(m.requestId, m.form),
      },
      onDidDispose: () => {
        sessionListener.dispose();
        if (ComparePanel.live === this) ComparePanel.live = undefined;
        if (this.source.kind === 'saved') ComparePanel.saved.delete(this.source.file);
        this.sweep = undefined;
        this.left = undefined;
        this.right = undefined;
      },
    });
    // Another model or dataset changes the layer range and the fact picker.
    const sessionListener = ctx.session.onDidChange((what) => {
      if (source.kind === 'live' && (what === 'model' || what === 'dataset')) void this.sendInit();
    });
  }

  private editRuns(): EditRunChoice[] {
    return this.ctx.runs
      .list()
      .filter((r) => r.kind === 'edit')
      .map((r) => ({ file: r.path, label: r.label, created: r.created }));
  }

  private readSide(file: string): EditSide {
    // Only files the runs store lists: a webview message never names an arbitrary path to read.
    const entry = this.editRuns().find((r) => r.file === file);
    if (!entry) throw new Error(`${file} is not a saved edit run of this workspace`);
    const run = this.ctx.runs.read<SavedEditData>(file);
    if (run.kind !== 'edit' || !run.data?.edit || !run.data.fact) throw new Error(`${file} is an edit run without the Fact panel's data`);
    return { file, label: run.label, created: run.created, data: run.data };
  }

  /** Sides from editIds (the newest saved run of each id), else the two newest edit runs. */
  private preselect(): void {
    const runs = this.editRuns().slice(0, MATCH_LIMIT);
    const sides: Array<EditSide | undefined> = [];
    try {
      if (this.args.editIds) {
        for (const id of this.args.editIds) {
          let found: EditSide | undefined;
          for (const r of runs) {
            const side = this.tryReadSide(r.file);
            if (side?.data.edit.id === id) {
              found = side;
              break;
            }
          }
          sides.push(found);
        }
      } else if (!this.left && !this.right) {
        // Oldest of the two on the left.
        sides.push(runs[1] ? this.tryReadSide(runs[1].file) : undefined, runs[0] ? this.tryReadSide(runs[0].file) : undefined);
      } else return;
    } catch (e) {
      this.ctx.log(`[compare panel] ${errorMessage(e)}`);
    }
    [this.left, this.right] = sides;
  }

  private tryReadSide(file: string): EditSide | undefined {
    try {
      return this.readSide(file);
    } catch {
      return undefined;
    }
  }

  private async sendInit(): Promise<void> {
    let model: ModelSummary | null = null;
    let cases: CaseChoice[] = [];
    let error: string | undefined;
    if (this.source.kind === 'live') {
      try {
        await this.ctx.session.ready();
        model = modelSummary(this.ctx.session.model);
        cases = (this.ctx.session.dataset?.records ?? []).map((r) => ({ caseId: r.case_id, subject: r.subject, prompt: r.prompt }));
      } catch (e) {
        error = `The model or dataset could not be loaded: ${errorMessage(e)}`;
      }
    }
    this.host.post({
      type: 'compare/init',
      model,
      runs: this.editRuns(),
      cases,
      ...(this.left ? { left: this.left } : {}),
      ...(this.right ? { right: this.right } : {}),
      ...(this.args.caseId !== undefined ? { caseId: this.args.caseId } : {}),
      ...(this.sweep ? { sweep: this.sweep } : {}),
      ...(this.source.kind === 'saved' ? { saved: { file: this.source.file, created: this.source.created } } : {}),
      running: this.runningSweep ? { sweep: this.runningSweep } : {},
      ...(error !== undefined ? { error } : {}),
    });
  }

  private pick(side: 'left' | 'right', file: string): void {
    try {
      const edit = this.readSide(String(file));
      this[side] = edit;
      this.host.post({ type: 'compare/side', side, edit });
    } catch (e) {
      this[side] = undefined;
      this.host.post({ type: 'compare/side', side, edit: null, error: errorMessage(e) });
    }
  }

  private async runSweep(requestId: string, raw: SweepFormValues): Promise<void> {
    if (this.source.kind === 'saved') {
      this.host.post({ type: 'job/error', requestId, message: 'This is a saved sweep; run a new one from "Locus: Compare".', cancelled: false });
      return;
    }
    this.runningSweep = requestId;
    try {
      await this.host.runJob(
        requestId,
        async (o) => {
          await this.ctx.session.ready();
          const model = this.ctx.session.model;
          const form = checkSweepForm(raw, model?.n_layers ?? 1, model?.methods?.map((m) => m.id));
          const record = this.ctx.session.dataset?.records.find((r) => r.case_id === form.caseId);
          if (!record) throw new Error(`The loaded dataset has no fact with case id ${form.caseId}`);
          const gate = await costGate(this.ctx, 'layer sweep', { what: 'sweep', caseId: form.caseId, methods: form.methods, ...(form.layers ? { layers: form.layers } : {}) }, o);
          if (gate === undefined) throw cancelledAtGate();
          const sweep: SweepResultDto = await this.ctx.session.request('sweep/run', { caseId: form.caseId, methods: form.methods, problem: form.problem, ...(form.layers ? { layers: form.layers } : {}) }, withEstimate(o, gate));
          return { form, sweep, fact: factFromRecord(record), model: modelSummary(model) };
        },
        ({ form, sweep, fact, model }) => {
          const data: SavedSweepData = { fact, model, form, sweep };
          let view: SweepView = { fact, sweep };
          try {
            view = { ...view, savedAs: this.ctx.runs.save('sweep', `${fact.subject} sweep ${form.methods.join('+')} ${form.problem}`, data) };
          } catch (e) {
            view = { ...view, note: `Not saved: ${errorMessage(e)}.` };
          }
          this.sweep = view;
          this.host.post({ type: 'sweep/result', requestId, result: view });
        },
      );
    } finally {
      if (this.runningSweep === requestId) this.runningSweep = undefined;
    }
  }

  reveal(): void {
    this.host.panel.reveal();
  }

  static disposeAll(): void {
    ComparePanel.live?.host.dispose();
    for (const p of [...ComparePanel.saved.values()]) p.host.dispose();
  }
}
