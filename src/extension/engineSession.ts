/**
 * The extension's one view of the engine: a WorkerClient plus what should be loaded in it (the model
 * the user chose, the CounterFact file) and the state every view and panel renders (model info, the
 * dataset, the applied-edit stack). Requests go through `request`, which loads the model and the
 * dataset first when the worker has none (first use, or after a crash restarted it).
 *
 * Invariant: `edits` mirrors the worker's stack. A restarted worker reloads the model from its files,
 * so its stack is empty: the session then re-runs the requests of the edits that were applied, oldest
 * first (the methods are deterministic for a seed, so the same edits come back, under new ids).
 * The same requests are kept in `memory` (the workspace's state), so a window reload — a new extension
 * host and worker — re-applies them too, once the same model (same fingerprint) is loaded again.
 * Requests wait while edits are being re-applied, so nothing runs on a half-restored model.
 */
import * as vscode from 'vscode';
import type { DatasetSummary, EditStackDto, ModelInfo } from '../protocol/dto';
import type { EngineMethod, EngineParams, EngineResult, JobProgress } from '../protocol/engine';
import type { RequestOptions } from './workerClient';
import { WorkerClient } from './workerClient';
import { errorMessage } from './errors';

export interface EngineSessionOptions {
  readonly workerPath: string;
  readonly cwd?: string;
  readonly log: (text: string) => void;
  /** Intra-op threads per session; undefined = the engine's default. */
  readonly threads: () => number | undefined;
  readonly device: () => 'cpu' | 'webgpu' | 'cuda';
  /** `locus.allowNonFinite`: load weights holding NaN/Inf with a warning instead of refusing them. */
  readonly allowNonFinite?: () => boolean;
  /** The settings' model ('default' or a folder) and dataset file (undefined = the bundled sample), read once. */
  readonly initialModel: () => string;
  readonly initialDataset: () => string | undefined;
  /** Fills what a request left out from the user's settings (statistics corpus, default hparams, trace noise). */
  readonly withDefaults?: <M extends EngineMethod>(method: M, params: EngineParams<M>) => EngineParams<M>;
  /** Where the applied edits' requests outlive the window (the workspace's Memento); none = not kept. */
  readonly memory?: EditMemoryStore;
}

/** The applied edits of a session, as the requests that made them, for the model they were made on. */
export interface SavedEdits {
  readonly model: string;
  readonly fingerprint: string;
  readonly requests: ReadonlyArray<EngineParams<'edit/run'>>;
}

export interface EditMemoryStore {
  get(): SavedEdits | undefined;
  update(value: SavedEdits | undefined): Thenable<void>;
}

export type SessionStatus = { readonly kind: 'idle' } | { readonly kind: 'loading'; readonly what: string } | { readonly kind: 'error'; readonly message: string };

export class EngineSession implements vscode.Disposable {
  readonly client: WorkerClient;
  /** 'default' (the embedded model) or a folder path. */
  private wantedModel = 'default';
  /** undefined = the bundled sample. */
  private wantedDataset: string | undefined;
  private loading?: Promise<void>;
  model?: ModelInfo;
  dataset?: DatasetSummary;
  edits: EditStackDto = { edits: [] };
  /** The request behind each applied edit, by id, oldest first (to re-apply after a worker restart). */
  private readonly editRequests = new Map<string, EngineParams<'edit/run'>>();
  status: SessionStatus = { kind: 'idle' };
  /** Edits saved by an earlier window, re-applied on the first request once their model is loaded. */
  private saved: SavedEdits | undefined;
  /** Set while edits are re-applied (after a restart or a reload); requests wait for it. */
  private replaying: Promise<void> | undefined;

  private readonly changed = new vscode.EventEmitter<'model' | 'dataset' | 'edits' | 'status'>();
  /** Fires with what changed; views refresh on it. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly options: EngineSessionOptions) {
    this.client = new WorkerClient({ workerPath: options.workerPath, cwd: options.cwd, onLog: options.log });
    this.wantedModel = options.initialModel();
    this.wantedDataset = options.initialDataset();
    this.saved = options.memory?.get();
    if (this.saved && this.saved.model !== this.wantedModel) this.forgetSaved();
    this.disposables.push(
      this.client.onDidCrash((c) => {
        options.log(`[worker] ${c.message}\n${c.stderrTail}`);
        void vscode.window.showErrorMessage(`Locus: ${c.message}.`);
        this.edits = { edits: [] };
        this.dataset = undefined; // the new worker has none: reloaded on the next request
        this.changed.fire('edits');
      }),
      this.client.onDidRestart((r) => {
        this.model = r.model ?? undefined;
        this.changed.fire('model');
        const replay = [...this.editRequests.values()];
        this.editRequests.clear();
        if (r.error) {
          void vscode.window.showErrorMessage(`Locus: the restarted worker could not reload the model: ${r.error}`);
          return;
        }
        if (!r.model) return;
        void vscode.window.showInformationMessage(`Locus: the worker was restarted and ${r.model.name} reloaded${replay.length ? `; re-applying ${replay.length} edit(s)` : ''}.`);
        if (replay.length) this.startReplay(replay);
      }),
    );
  }

  get modelChoice(): string {
    return this.wantedModel;
  }

  get datasetChoice(): string | undefined {
    return this.wantedDataset;
  }

  /**
   * Loads a model now ('default' or a folder); the old model's edits are dropped (their requests were
   * computed on another model). A folder that is plainly not a model (no config.json, unsupported
   * architecture, no tokenizer) is refused while the worker still holds the old model: nothing changes.
   * Past those checks the worker frees its model before reading the new one (two models may not fit), so
   * a later failure leaves it empty: the previous model is reloaded in the background, its edits
   * re-applied, and the error is thrown.
   */
  async loadModel(model: string, progress?: (p: JobProgress) => void): Promise<ModelInfo> {
    const info = await this.load(model, progress);
    if (this.saved && this.saved.model !== model) this.forgetSaved();
    return info;
  }

  private async load(model: string, progress?: (p: JobProgress) => void): Promise<ModelInfo> {
    const previous = this.model;
    const previousChoice = this.wantedModel;
    const previousEdits = [...this.editRequests.values()];
    let unchanged = false;
    try {
      return await this.track(`loading ${model === 'default' ? 'the embedded model' : model}`, async () => {
        const info = await this.client.request('model/load', { model, threads: this.options.threads(), device: this.options.device(), allowNonFinite: this.options.allowNonFinite?.() === true }, { onProgress: progress });
        this.wantedModel = model;
        this.model = info;
        return info;
      });
    } catch (e) {
      const held = previous ? await this.client.request('model/info', {}).catch(() => null) : null;
      unchanged = held !== null && held.fingerprint === previous?.fingerprint;
      if (unchanged) {
        this.status = { kind: 'idle' };
      } else if (previous) {
        this.model = undefined;
        void this.loaded().then(
          () => previousEdits.length > 0 && this.startReplay(previousEdits, 'on the reloaded model'),
          (again: unknown) => this.options.log(`[session] reloading ${previousChoice} failed: ${errorMessage(again)}`),
        );
      }
      throw e;
    } finally {
      if (!unchanged) {
        this.edits = { edits: [] };
        this.editRequests.clear();
        this.remember();
      }
      this.changed.fire('status');
      this.changed.fire('model');
      this.changed.fire('edits');
    }
  }

  /** Loads a CounterFact file (undefined = the bundled sample); on failure the previous dataset stays. */
  async loadDataset(file: string | undefined): Promise<DatasetSummary> {
    return this.track(`reading ${file ?? 'the bundled CounterFact sample'}`, async () => {
      const summary = await this.client.request('dataset/load', { path: file });
      this.wantedDataset = file;
      this.dataset = summary;
      this.changed.fire('dataset');
      return summary;
    }, false);
  }

  /**
   * Makes sure the worker holds the chosen model and dataset (first use, or after a restart), and that
   * the edits of an earlier window or worker are back on it.
   */
  async ready(): Promise<void> {
    await this.loaded();
    const saved = this.saved;
    if (saved) {
      this.saved = undefined;
      if (this.model?.fingerprint === saved.fingerprint) this.startReplay(saved.requests, 'from the last window');
      else {
        void vscode.window.showWarningMessage(`Locus: ${saved.requests.length} edit(s) saved with ${saved.model} were not re-applied: its weights changed since.`);
        this.remember();
      }
    }
    await this.replaying;
  }

  private async loaded(): Promise<void> {
    if (this.model && this.dataset) return;
    this.loading ??= (async () => {
      try {
        if (!this.model) await this.load(this.wantedModel);
        if (!this.dataset) await this.loadDataset(this.wantedDataset);
      } finally {
        this.loading = undefined;
      }
    })();
    await this.loading;
  }

  /** A worker request after `ready()`; keeps `edits` in step with anything that changes the stack. */
  async request<M extends EngineMethod>(method: M, params: EngineParams<M>, options: RequestOptions = {}): Promise<EngineResult<M>> {
    await this.ready();
    return this.send(method, params, options);
  }

  private async send<M extends EngineMethod>(method: M, params: EngineParams<M>, options: RequestOptions = {}): Promise<EngineResult<M>> {
    params = this.options.withDefaults?.(method, params) ?? params;
    const result = await this.client.request(method, params, options);
    if (method === 'edit/run') this.editRequests.set((result as EngineResult<'edit/run'>).id, { ...(params as EngineParams<'edit/run'>), workDoneToken: undefined, details: undefined });
    const stack = stackOf(method, result);
    if (stack) {
      const kept = new Set(stack.edits.map((e) => e.id));
      for (const id of [...this.editRequests.keys()]) if (!kept.has(id)) this.editRequests.delete(id);
      this.edits = stack;
      this.remember();
      this.changed.fire('edits');
    }
    return result;
  }

  private startReplay(requests: ReadonlyArray<EngineParams<'edit/run'>>, from = ''): void {
    const run = this.replay(requests, from).finally(() => {
      this.replaying = undefined;
      this.remember();
    });
    this.replaying = run;
  }

  /**
   * Re-runs edit requests in order; stops at the first failure, or when the user cancels, and says how
   * many are back. Until it ends, the memory keeps the full list (a window closed mid-way loses none).
   */
  private async replay(requests: ReadonlyArray<EngineParams<'edit/run'>>, from: string): Promise<void> {
    const title = `Locus: re-applying edits${from ? ' ' + from : ''}`;
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      for (const [i, params] of requests.entries()) {
        if (token.isCancellationRequested) {
          void vscode.window.showWarningMessage(`Locus: stopped re-applying edits; the model has the first ${i} of ${requests.length}.`);
          return;
        }
        progress.report({ message: `${i + 1} of ${requests.length} (${params.method})` });
        try {
          await this.loaded();
          await this.send('edit/run', params);
        } catch (e) {
          void vscode.window.showErrorMessage(`Locus: re-applying edit ${i + 1} of ${requests.length} failed (${errorMessage(e)}); the model has the first ${i}.`);
          return;
        }
      }
    });
  }

  /** Saves the applied edits' requests; not while saved ones are still to be re-applied or are being re-applied. */
  private remember(): void {
    if (this.saved || this.replaying || !this.options.memory) return;
    const requests = [...this.editRequests.values()];
    const value = requests.length && this.model ? { model: this.wantedModel, fingerprint: this.model.fingerprint, requests } : undefined;
    void this.options.memory.update(value).then(undefined, (e: unknown) => this.options.log(`[session] could not save the applied edits: ${errorMessage(e)}`));
  }

  /** Drops an earlier window's edits (another model was chosen); the memory then holds this session's. */
  private forgetSaved(): void {
    this.saved = undefined;
    this.remember();
  }

  /** `status` follows a load; only a failed MODEL load stays as an error (a bad dataset file leaves the model fine). */
  private async track<T>(what: string, run: () => Promise<T>, failureSticks = true): Promise<T> {
    this.status = { kind: 'loading', what };
    this.changed.fire('status');
    try {
      const r = await run();
      this.status = { kind: 'idle' };
      return r;
    } catch (e) {
      this.status = failureSticks ? { kind: 'error', message: errorMessage(e) } : { kind: 'idle' };
      throw e;
    } finally {
      this.changed.fire('status');
    }
  }

  dispose(): void {
    void this.client.shutdown();
    for (const d of this.disposables) d.dispose();
  }
}

function stackOf(method: EngineMethod, result: unknown): EditStackDto | undefined {
  if (method === 'edit/run') return (result as { stack: EditStackDto }).stack;
  if (method === 'edit/revert' || method === 'edit/revertAll' || method === 'edit/list') return result as EditStackDto;
  return undefined;
}

/** One readable line for any failure (src/extension/errors.ts; re-exported for the panels and commands). */
export { errorMessage } from './errors';
