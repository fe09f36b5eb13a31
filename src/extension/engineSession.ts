/**
 * The extension's one view of the engine: a WorkerClient plus what should be loaded in it (the model
 * the user chose, the CounterFact file) and the state every view and panel renders (model info, the
 * dataset, the applied-edit stack). Requests go through `request`, which loads the model and the
 * dataset first when the worker has none (first use, or after a crash restarted it).
 *
 * Invariant: `edits` mirrors the worker's stack. A restarted worker reloads the model from its files,
 * so its stack is empty: the session then re-runs the requests of the edits that were applied, oldest
 * first (the methods are deterministic for a seed, so the same edits come back, under new ids).
 */
import * as vscode from 'vscode';
import type { DatasetSummary, EditStackDto, ModelInfo } from '../protocol/dto';
import type { EngineMethod, EngineParams, EngineResult, JobProgress } from '../protocol/engine';
import type { RequestOptions } from './workerClient';
import { EngineError, WorkerClient } from './workerClient';

export interface EngineSessionOptions {
  readonly workerPath: string;
  readonly cwd?: string;
  readonly log: (text: string) => void;
  /** Intra-op threads per session; undefined = the engine's default. */
  readonly threads: () => number | undefined;
  readonly device: () => 'cpu' | 'webgpu' | 'cuda';
  /** The settings' model ('default' or a folder) and dataset file (undefined = the bundled sample), read once. */
  readonly initialModel: () => string;
  readonly initialDataset: () => string | undefined;
  /** Fills what a request left out from the user's settings (statistics corpus, default hparams, trace noise). */
  readonly withDefaults?: <M extends EngineMethod>(method: M, params: EngineParams<M>) => EngineParams<M>;
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

  private readonly changed = new vscode.EventEmitter<'model' | 'dataset' | 'edits' | 'status'>();
  /** Fires with what changed; views refresh on it. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly options: EngineSessionOptions) {
    this.client = new WorkerClient({ workerPath: options.workerPath, cwd: options.cwd, onLog: options.log });
    this.wantedModel = options.initialModel();
    this.wantedDataset = options.initialDataset();
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
        if (replay.length) void this.replay(replay);
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
   * Loads a model now ('default' or a folder). The worker frees its model before reading the new one (two
   * models may not fit), so a failed load leaves it empty: the previous choice is then reloaded in the
   * background and the error is thrown. Either way the old model's edits are gone (their requests are
   * dropped: they were computed on another model).
   */
  async loadModel(model: string, progress?: (p: JobProgress) => void): Promise<ModelInfo> {
    const previous = this.model ? this.wantedModel : undefined;
    try {
      return await this.track(`loading ${model === 'default' ? 'the embedded model' : model}`, async () => {
        const info = await this.client.request('model/load', { model, threads: this.options.threads(), device: this.options.device() }, { onProgress: progress });
        this.wantedModel = model;
        this.model = info;
        return info;
      });
    } catch (e) {
      if (previous !== undefined) {
        this.model = undefined;
        void this.ready().catch((again: unknown) => this.options.log(`[session] reloading ${previous} failed: ${errorMessage(again)}`));
      }
      throw e;
    } finally {
      this.edits = { edits: [] };
      this.editRequests.clear();
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

  /** Makes sure the worker holds the chosen model and dataset (first use, or after a restart). */
  async ready(): Promise<void> {
    if (this.model && this.dataset) return;
    this.loading ??= (async () => {
      try {
        if (!this.model) await this.loadModel(this.wantedModel);
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
    params = this.options.withDefaults?.(method, params) ?? params;
    const result = await this.client.request(method, params, options);
    if (method === 'edit/run') this.editRequests.set((result as EngineResult<'edit/run'>).id, { ...(params as EngineParams<'edit/run'>), workDoneToken: undefined, details: undefined });
    const stack = stackOf(method, result);
    if (stack) {
      const kept = new Set(stack.edits.map((e) => e.id));
      for (const id of [...this.editRequests.keys()]) if (!kept.has(id)) this.editRequests.delete(id);
      this.edits = stack;
      this.changed.fire('edits');
    }
    return result;
  }

  /** Re-runs edit requests in order after a restart; stops at the first failure and says which. */
  private async replay(requests: ReadonlyArray<EngineParams<'edit/run'>>): Promise<void> {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Locus: re-applying edits' }, async (progress) => {
      for (const [i, params] of requests.entries()) {
        progress.report({ message: `${i + 1} of ${requests.length} (${params.method})` });
        try {
          await this.request('edit/run', params);
        } catch (e) {
          void vscode.window.showErrorMessage(`Locus: re-applying edit ${i + 1} of ${requests.length} failed (${errorMessage(e)}); the model has the first ${i}.`);
          return;
        }
      }
    });
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

/** One readable line for any failure (EngineError carries the worker's message). */
export function errorMessage(e: unknown): string {
  if (e instanceof EngineError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
