/**
 * The Study panel (host side) and the "Locus: Run Study…" palette flow. The panel shows one study
 * folder (`<workspace>/.locus/runs/<name>`): the worker analyzes it (`study/analyze`, no model needed)
 * and the webview draws the R² table, the per-layer curves and the scatter. A partial study can be
 * resumed from the panel (`study/run` with the manifest's spec). One panel per folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EditMethodDto, StudyRunResultDto } from '../../protocol/dto';
import type { CostEstimateParams } from '../../protocol/cost';
import type { JobProgress, StudyRunParams } from '../../protocol/engine';
import type { StudyFromWebview, StudyToWebview, StudyView } from '../../protocol/panels/study';
import { errorMessage } from '../engineSession';
import type { RequestOptions } from '../workerClient';
import { EngineError } from '../workerClient';
import type { PanelContext } from './context';
import { cancelledAtGate, costGate, withEstimate } from './costGate';
import { PanelHost } from './host';
import { checkCasesText, checkStudyName, defaultStudyName, parseLayersText, resumeParams, studyView } from './studyData';

const readManifest = (dir: string): unknown => {
  const file = path.join(dir, 'manifest.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as unknown) : undefined;
};

/** The estimate's request for a study run: the same folder, cases, methods, problems, layers and localization. */
const studyCostParams = (p: StudyRunParams): CostEstimateParams => ({
  what: 'study', dir: p.dir, cases: p.cases, methods: p.methods, ...(p.problems ? { problems: p.problems } : {}), ...(p.layers ? { layers: p.layers } : {}), ...(p.localization ? { localization: p.localization } : {}),
});

const isCancelled = (e: unknown): boolean => e instanceof EngineError && e.code === 'cancelled';

export class StudyPanel {
  static readonly viewType = 'locus.study';
  private static readonly panels = new Map<string, StudyPanel>();
  private readonly host: PanelHost<StudyToWebview, StudyFromWebview>;
  private view: StudyView | null = null;
  private error: string | undefined;
  private readonly running: { resume?: string; reload?: string } = {};

  /** Opens the panel of `dir`, or reveals (and re-reads) the one already open. */
  static show(ctx: PanelContext, dir: string, restored?: vscode.WebviewPanel): StudyPanel {
    const key = path.resolve(dir);
    const open = StudyPanel.panels.get(key);
    if (open && !open.host.isDisposed) {
      restored?.dispose();
      open.host.panel.reveal();
      open.refresh();
      return open;
    }
    const panel = new StudyPanel(ctx, key, restored);
    StudyPanel.panels.set(key, panel);
    return panel;
  }

  private constructor(
    private readonly ctx: PanelContext,
    readonly dir: string,
    restored?: vscode.WebviewPanel,
  ) {
    this.host = new PanelHost<StudyToWebview, StudyFromWebview>({
      ctx,
      viewType: StudyPanel.viewType,
      origin: { kind: 'study', dir },
      existing: restored,
      title: `Study: ${path.basename(dir)}`,
      bundle: 'study',
      handlers: {
        'panel/ready': () => this.postInit(),
        'study/reload': (m) => this.reload(m.requestId),
        'study/resume': (m) => this.resume(m.requestId),
      },
      onDidDispose: () => StudyPanel.panels.delete(dir),
    });
  }

  /** Forgets the last analysis; the webview, finding none, asks for it again. */
  refresh(): void {
    this.view = null;
    this.error = undefined;
    this.postInit();
  }

  private postInit(): void {
    this.host.post({ type: 'study/init', dir: this.dir, view: this.view, ...(this.error ? { error: this.error } : {}), running: { ...this.running } });
  }

  /** `study/analyze` straight to the worker: reading a folder needs no model, so none is loaded for it. */
  private async analyze(options: RequestOptions): Promise<StudyView> {
    try {
      this.view = studyView(await this.ctx.session.client.request('study/analyze', { dir: this.dir }, options));
      this.error = undefined;
      return this.view;
    } catch (e) {
      this.error = errorMessage(e);
      throw e;
    }
  }

  private async reload(requestId: string): Promise<void> {
    this.running.reload = requestId;
    try {
      await this.host.runJob(requestId, (o) => this.analyze(o), (view) => this.host.post({ type: 'study/analysis', requestId, view }));
    } finally {
      delete this.running.reload;
    }
  }

  private async resume(requestId: string): Promise<void> {
    this.running.resume = requestId;
    try {
      const work = async (o: RequestOptions): Promise<StudyView> => {
        const params = resumeParams(this.dir, readManifest(this.dir));
        const gate = await costGate(this.ctx, 'study', studyCostParams(params), o);
        if (gate === undefined) throw cancelledAtGate();
        try {
          const r = await this.ctx.session.request('study/run', params, withEstimate(o, gate));
          this.ctx.log(`[study] ${this.dir}: ${r.rows}/${r.total} edits (${r.added} new) in ${r.seconds.toFixed(1)} s`);
        } catch (e) {
          // A stopped run still wrote what it finished: show it, then report the stop.
          if (isCancelled(e)) await this.analyze({}).then((view) => this.host.post({ type: 'study/analysis', requestId, view }), () => undefined);
          throw e;
        }
        return this.analyze({});
      };
      await this.host.runJob(requestId, work, (view) => this.host.post({ type: 'study/analysis', requestId, view }));
    } finally {
      delete this.running.resume;
    }
  }
}

interface StudyInputs {
  readonly name: string;
  readonly params: StudyRunParams;
}

/** The loaded model's editing methods (the worker's registry); ROME and FT-1 picked at first, as the seed paper's study compares them. */
const methodItems = (methods: readonly EditMethodDto[]): Array<vscode.QuickPickItem & { id: string }> =>
  methods.map((m) => ({ id: m.id, label: m.label, description: m.summary, picked: m.id === 'rome' || m.id === 'ft' }));
const PROBLEM_ITEMS: ReadonlyArray<vscode.QuickPickItem & { id: string }> = [
  { id: 'error-injection', label: 'Error Injection', description: 'the paper\'s main problem', picked: true },
  { id: 'tracing-reversal', label: 'Tracing Reversal' },
  { id: 'fact-erasure', label: 'Fact Erasure' },
  { id: 'fact-amplification', label: 'Fact Amplification' },
  { id: 'fact-forcing', label: 'Fact Forcing', description: 'ROME, FT only' },
];
const LOCALIZATION_ITEMS: ReadonlyArray<vscode.QuickPickItem & { id: 'noise' | 'patching' }> = [
  { id: 'noise', label: 'Causal Tracing (Gaussian noise)', description: 'the seed paper\'s tracing effect', picked: true },
  { id: 'patching', label: 'Activation patching', description: 'MLP patching from a same-relation counterfactual subject (each case needs one of its token length)' },
];
const STEPS = 6;

/** Asks name, cases, methods, problems, layers; an existing study's name resumes it with its own settings. */
async function askStudyInputs(ctx: PanelContext, root: string): Promise<StudyInputs | undefined> {
  const title = (step: number): string => `Locus: Run Study (${step}/${STEPS})`;
  const name = await vscode.window.showInputBox({
    title: title(1), prompt: 'Study name: the folder under .locus/runs/ that will hold manifest.json and results.jsonl', value: defaultStudyName(new Date()), ignoreFocusOut: true,
    validateInput: (v) => checkStudyName(v) ?? (fs.existsSync(path.join(root, v.trim(), 'manifest.json')) ? { message: 'This study exists: Enter resumes it with its own settings.', severity: vscode.InputBoxValidationSeverity.Info } : undefined),
  });
  if (name === undefined) return undefined;
  const dir = path.join(root, name.trim());
  const existing = readManifest(dir);
  if (existing !== undefined) return { name: name.trim(), params: resumeParams(dir, existing) };

  const cases = await vscode.window.showInputBox({
    title: title(2), prompt: 'Cases: "known:N" (the first N facts the model knows) or case_ids and ranges ("0-99", "12,40,77")', value: 'known:20', ignoreFocusOut: true, validateInput: checkCasesText,
  });
  if (cases === undefined) return undefined;
  const methods = await vscode.window.showQuickPick(methodItems(ctx.session.model?.methods ?? []), { title: title(3), placeHolder: 'Editing methods (each edit is measured, then reverted)', canPickMany: true, ignoreFocusOut: true });
  if (methods === undefined) return undefined;
  if (methods.length === 0) throw new Error('choose at least one editing method');
  const problems = await vscode.window.showQuickPick(PROBLEM_ITEMS, { title: title(4), placeHolder: 'Editing problems', canPickMany: true, ignoreFocusOut: true });
  if (problems === undefined) return undefined;
  if (problems.length === 0) throw new Error('choose at least one editing problem');
  const nLayers = ctx.session.model?.n_layers;
  const layersText = await vscode.window.showInputBox({
    title: title(5), prompt: `Central edit layers: "all"${nLayers ? ` (0–${nLayers - 1})` : ''}, a list "0,2,4" or a range "0-5"`, value: 'all', ignoreFocusOut: true,
    validateInput: (v) => {
      try {
        parseLayersText(v, nLayers);
        return undefined;
      } catch (e) {
        return errorMessage(e);
      }
    },
  });
  if (layersText === undefined) return undefined;
  const layers = parseLayersText(layersText, nLayers);
  const localization = await vscode.window.showQuickPick(LOCALIZATION_ITEMS, { title: title(6), placeHolder: 'Localization: the effect each edit layer is regressed on', ignoreFocusOut: true });
  if (localization === undefined) return undefined;
  return {
    name: name.trim(),
    params: {
      dir, cases: cases.trim(), methods: methods.map((m) => m.id) as StudyRunParams['methods'], problems: problems.map((p) => p.id) as NonNullable<StudyRunParams['problems']>, ...(layers ? { layers } : {}),
      ...(localization.id === 'patching' ? { localization: 'patching' as const } : {}),
    },
  };
}

/** Maps the worker's done/total onto withProgress's additive percentage increments. */
function progressReporter(progress: vscode.Progress<{ message?: string; increment?: number }>): (p: JobProgress) => void {
  let shown = 0;
  return (p) => {
    if (p.kind !== 'report') return;
    const pct = p.total ? (100 * (p.done ?? 0)) / p.total : undefined;
    const increment = pct === undefined ? 0 : Math.max(0, pct - shown);
    shown += increment;
    progress.report({ message: p.message, ...(increment > 0 ? { increment } : {}) });
  };
}

const hasResults = (dir: string): boolean => {
  const file = path.join(dir, 'results.jsonl');
  return fs.existsSync(file) && fs.statSync(file).size > 0;
};

/** "Locus: Run Study…": the inputs, the run under a cancellable notification, then the Study panel. */
export async function runStudyCommand(ctx: PanelContext): Promise<void> {
  const root = ctx.runs.dir;
  if (!root) {
    void vscode.window.showErrorMessage('Locus: open a folder first: a study is saved under .locus/runs/ in the workspace folder.');
    return;
  }
  let inputs: StudyInputs | undefined;
  try {
    inputs = await askStudyInputs(ctx, root);
  } catch (e) {
    void vscode.window.showErrorMessage(`Locus: ${errorMessage(e)}`);
    return;
  }
  if (!inputs) return;
  const { name, params } = inputs;
  ctx.log(`[study] ${name}: ${JSON.stringify(params)}`);
  const gate = await costGate(ctx, 'study', studyCostParams(params));
  if (gate === undefined) return;
  let result: StudyRunResultDto;
  try {
    result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Locus: study ${name}${gate ? ` (${gate})` : ''}`, cancellable: true }, (progress, token) =>
      ctx.session.request('study/run', params, { token, onProgress: progressReporter(progress) }),
    );
  } catch (e) {
    if (isCancelled(e)) {
      void vscode.window.showInformationMessage(`Locus: study ${name}: ${errorMessage(e)} (or press Resume in the Study panel).`);
      if (hasResults(params.dir)) StudyPanel.show(ctx, params.dir);
    } else {
      void vscode.window.showErrorMessage(`Locus: study ${name} failed: ${errorMessage(e)}`);
    }
    return;
  }
  ctx.log(`[study] ${name}: ${result.rows}/${result.total} edits (${result.added} new) in ${result.seconds.toFixed(1)} s`);
  void vscode.window.showInformationMessage(`Locus: study ${name} finished: ${result.rows} edits (${result.added} new) in ${Math.round(result.seconds)} s.`);
  StudyPanel.show(ctx, params.dir);
}
