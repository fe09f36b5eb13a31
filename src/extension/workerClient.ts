/**
 * The extension host's side of src/protocol/engine.ts: forks the worker (dist/worker.js), sends typed
 * requests with cancellation and progress, and keeps the worker alive — when it dies (kill -9, out
 * of memory) it reports the crash, restarts it, re-sends the last successful `model/load`, and
 * rejects the requests that were in flight with a readable error. No vscode import: the UI layer
 * wraps this (window.withProgress, notifications), and tests drive it in plain Node.
 * Nothing here throws synchronously into the host: every failure is a rejected promise.
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import type { MessageConnection } from 'vscode-jsonrpc';
import { CancellationTokenSource, ProgressType, ResponseError } from 'vscode-jsonrpc';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import type { EngineErrorCode, ModelInfo } from '../protocol/dto';
import type { EngineErrorData, EngineMethod, EngineParams, EngineResult, JobProgress, LoadParams } from '../protocol/engine';
import { ENGINE_ERROR_CODES } from '../protocol/engine';
import { withMallocTunables } from '../protocol/mallocTuning';

/** vscode.CancellationToken and vscode-jsonrpc's both fit. */
export interface CancellationLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): unknown };
}
export interface RequestOptions {
  readonly token?: CancellationLike;
  /** Receives the job's `$/progress` values (begin, reports, end); a workDoneToken is added to the params. */
  readonly onProgress?: (p: JobProgress) => void;
}
interface Disposable {
  dispose(): void;
}

/** Every failed request rejects with this. 'worker-stopped': the process died or was shut down. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode | 'worker-stopped',
    message: string,
    /** For 'internal' errors: the worker's stack trace. */
    readonly workerStack?: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

function asEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  if (e instanceof ResponseError) {
    const data = e.data as EngineErrorData | undefined;
    const code = data?.code ?? (e.code === ENGINE_ERROR_CODES.cancelled ? 'cancelled' : 'internal');
    return new EngineError(code, e.message, data?.stack);
  }
  return new EngineError('internal', e instanceof Error ? e.message : String(e));
}

const JOB_PROGRESS = new ProgressType<JobProgress>();
let progressTokens = 0;

/** A typed request over any connection to a worker (the WorkerClient's, or an in-memory one in tests). */
export async function sendEngineRequest<M extends EngineMethod>(connection: MessageConnection, method: M, params: EngineParams<M>, options: RequestOptions = {}): Promise<EngineResult<M>> {
  const source = new CancellationTokenSource();
  const cancelSub = options.token?.onCancellationRequested(() => source.cancel());
  if (options.token?.isCancellationRequested) source.cancel();
  let progressSub: Disposable | undefined;
  let sent: object = params;
  try {
    if (options.onProgress) {
      const workDoneToken = `locus-${process.pid}-${++progressTokens}`;
      progressSub = connection.onProgress(JOB_PROGRESS, workDoneToken, options.onProgress);
      sent = { ...params, workDoneToken };
    }
    return (await connection.sendRequest(method, sent, source.token)) as EngineResult<M>;
  } catch (e) {
    throw asEngineError(e);
  } finally {
    cancelSub?.dispose();
    progressSub?.dispose();
    source.dispose();
  }
}

export interface WorkerClientOptions {
  /** dist/worker.js */
  readonly workerPath: string;
  /** Node flags for the worker (e.g. --max-old-space-size); default none, never the host's --inspect. */
  readonly execArgv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Stop restarting after more than `maxCrashes` crashes within `crashWindowMs` (default 3 in 60 s). */
  readonly maxCrashes?: number;
  readonly crashWindowMs?: number;
  /** Whatever the worker writes to stdout/stderr. */
  readonly onLog?: (text: string) => void;
}

export interface WorkerCrash {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** One line for the UI, e.g. "the Locus worker stopped (signal SIGKILL); restarting it and reloading the model". */
  readonly message: string;
  readonly restarting: boolean;
  /** The end of the worker's stderr (an out-of-memory report lands here). */
  readonly stderrTail: string;
}

export interface WorkerRestart {
  /** The reloaded model, or null when none was loaded (or reloading failed: see error). */
  readonly model: ModelInfo | null;
  readonly error?: string;
}

interface Live {
  readonly child: ChildProcess;
  readonly connection: MessageConnection;
  readonly exit: Promise<void>;
  exited: boolean;
  /** Set before an intentional stop, so the exit is not a crash. */
  expected: boolean;
  reloading: boolean;
  restart?: WorkerRestart;
  stderr: string;
}
interface Pending {
  readonly live: Live;
  readonly reject: (e: EngineError) => void;
}

export class WorkerClient {
  private ready?: Promise<Live>;
  private live?: Live;
  private lastLoad?: LoadParams;
  private readonly pending = new Set<Pending>();
  private crashTimes: number[] = [];
  private stopped?: string;
  private disposed = false;
  private readonly crashListeners = new Set<(c: WorkerCrash) => void>();
  private readonly restartListeners = new Set<(r: WorkerRestart) => void>();

  constructor(private readonly options: WorkerClientOptions) {}

  /** The running worker's process id (undefined before the first request and after it stopped). */
  get pid(): number | undefined {
    return this.live && !this.live.exited ? this.live.child.pid : undefined;
  }

  /** Fires when the worker dies unexpectedly, before it is restarted. */
  onDidCrash(listener: (c: WorkerCrash) => void): Disposable {
    this.crashListeners.add(listener);
    return { dispose: () => this.crashListeners.delete(listener) };
  }

  /** Fires when a restarted worker is up again (and the model reloaded, or why not). */
  onDidRestart(listener: (r: WorkerRestart) => void): Disposable {
    this.restartListeners.add(listener);
    return { dispose: () => this.restartListeners.delete(listener) };
  }

  /** Sends `method` to the worker (starting it on first use); rejects with EngineError, never throws. */
  async request<M extends EngineMethod>(method: M, params: EngineParams<M>, options: RequestOptions = {}): Promise<EngineResult<M>> {
    if (method === 'worker/shutdown') return this.shutdown().then(() => null as EngineResult<M>);
    const live = await this.ensure();
    return new Promise<EngineResult<M>>((resolve, reject) => {
      const entry: Pending = { live, reject };
      this.pending.add(entry);
      sendEngineRequest(live.connection, method, params, options).then(
        (result) => {
          this.pending.delete(entry);
          if (method === 'model/load') this.lastLoad = { ...(params as LoadParams), workDoneToken: undefined };
          resolve(result);
        },
        (e: EngineError) => {
          // A dead worker's requests are rejected by onExit, with the reason and the restart's outcome.
          if (live.exited || !live.child.connected) return;
          this.pending.delete(entry);
          // A failed load leaves the worker without a model (it frees the old one first): nothing to reload.
          if (method === 'model/load' && e.code !== 'cancelled') this.lastLoad = undefined;
          // A bug's stack goes to the output channel; the user sees one line (src/extension/errors.ts).
          if (e.code === 'internal') this.options.onLog?.(`[worker] ${method} failed with an internal error: ${e.workerStack ?? e.message}`);
          reject(e);
        },
      );
    });
  }

  /** Starts a fresh worker after the client gave up restarting (or at any time), reloading the model. */
  async restart(): Promise<void> {
    this.stopped = undefined;
    this.crashTimes = [];
    const old = this.live;
    if (old && !old.exited) {
      old.expected = true;
      old.child.kill('SIGKILL');
      await old.exit;
    }
    this.ready = undefined;
    await this.ensure();
  }

  /** Asks the worker to release the model and exit; kills it after 2 s. The client is done afterwards. */
  async shutdown(): Promise<void> {
    this.disposed = true;
    const live = this.live;
    if (!live || live.exited) return;
    live.expected = true;
    const grace = (): Promise<void> => new Promise((r) => setTimeout(r, 2000).unref());
    await Promise.race([sendEngineRequest(live.connection, 'worker/shutdown', {}).catch(() => undefined), grace()]);
    await Promise.race([live.exit, grace()]);
    if (!live.exited) live.child.kill('SIGKILL');
  }

  /** Kills the worker now; in-flight requests reject with 'worker-stopped'. */
  dispose(): void {
    this.disposed = true;
    const live = this.live;
    if (live && !live.exited) {
      live.expected = true;
      live.child.kill();
    }
  }

  private async ensure(): Promise<Live> {
    for (;;) {
      if (this.disposed) throw new EngineError('worker-stopped', 'the Locus worker was shut down');
      if (this.stopped) throw new EngineError('worker-stopped', `${this.stopped}; restart it to continue`);
      const ready = (this.ready ??= this.start());
      const live = await ready.catch((e: unknown) => {
        if (this.ready === ready) this.ready = undefined; // let the next request try again
        throw asEngineError(e);
      });
      if (!live.exited) return live;
      if (this.ready === ready) this.ready = undefined;
    }
  }

  private async start(): Promise<Live> {
    const o = this.options;
    if (!fs.existsSync(o.workerPath)) throw new EngineError('not-found', `the worker bundle ${o.workerPath} is missing: build it with "node esbuild.js worker"`);
    const child = fork(o.workerPath, [], {
      execArgv: [...(o.execArgv ?? [])],
      // In VS Code the fork runs Electron's binary: make it behave as Node.
      // With glibc's malloc settings for the engine (protocol/mallocTuning.ts: ~20× fewer page faults, a trace grid ~1.7× faster).
      env: { ...withMallocTunables(o.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
      cwd: o.cwd,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let onExit!: () => void;
    const exit = new Promise<void>((r) => (onExit = r));
    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    const live: Live = { child, connection, exit, exited: false, expected: false, reloading: false, stderr: '' };
    child.stdout?.on('data', (b: Buffer) => o.onLog?.(b.toString()));
    child.stderr?.on('data', (b: Buffer) => {
      live.stderr = (live.stderr + b.toString()).slice(-4000);
      o.onLog?.(b.toString());
    });
    child.on('error', (e) => {
      live.stderr = (live.stderr + `\n${e.message}`).slice(-4000);
      if (child.pid === undefined) this.onExit(live, null, null, onExit); // never spawned: no 'exit' will come
    });
    child.on('exit', (code, signal) => this.onExit(live, code, signal, onExit));
    connection.onError(() => undefined); // write failures surface as the child's exit
    connection.listen();
    this.live = live;
    if (this.lastLoad) {
      live.reloading = true;
      try {
        live.restart = { model: await sendEngineRequest(connection, 'model/load', this.lastLoad) };
      } catch (e) {
        live.restart = { model: null, error: asEngineError(e).message };
      }
      live.reloading = false;
    }
    return live;
  }

  private onExit(live: Live, code: number | null, signal: NodeJS.Signals | null, resolveExit: () => void): void {
    if (live.exited) return;
    live.exited = true;
    resolveExit();
    live.connection.dispose();
    const victims = [...this.pending].filter((p) => p.live === live);
    for (const v of victims) this.pending.delete(v);
    if (live.expected || this.disposed || this.live !== live) {
      for (const v of victims) v.reject(new EngineError('worker-stopped', 'the Locus worker was shut down'));
      return;
    }
    const reason = signal ? `signal ${signal}` : code === null ? live.stderr.trim().split('\n').pop() || 'it could not start' : `exit code ${code}`;
    const now = Date.now();
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < (this.options.crashWindowMs ?? 60_000)), now];
    // A worker that dies while reloading may be killed by the model itself: do not loop on it.
    if (live.reloading) this.lastLoad = undefined;
    const giveUp = this.crashTimes.length > (this.options.maxCrashes ?? 3);
    const stoppedMsg = `the Locus worker stopped (${reason})`;
    const message = giveUp
      ? `${stoppedMsg}; it stopped ${this.crashTimes.length} times in a row, so it was not restarted`
      : `${stoppedMsg}; restarting it${this.lastLoad ? ' and reloading the model' : live.reloading ? ' without a model (it stopped while reloading it)' : ''}`;
    const crash: WorkerCrash = { code, signal, message, restarting: !giveUp, stderrTail: live.stderr };
    for (const l of this.crashListeners) this.safely(() => l(crash));
    if (giveUp) {
      this.stopped = message;
      this.ready = undefined;
      for (const v of victims) v.reject(new EngineError('worker-stopped', message));
      return;
    }
    const ready = (this.ready = this.start());
    ready.then(
      (next) => {
        const r = next.restart ?? { model: null };
        const outcome = r.model ? ' and the model reloaded' : r.error ? `, but reloading the model failed: ${r.error}` : '';
        for (const v of victims) v.reject(new EngineError('worker-stopped', `${stoppedMsg}; it was restarted${outcome}`));
        if (!next.exited) for (const l of this.restartListeners) this.safely(() => l(r));
      },
      (e: unknown) => {
        for (const v of victims) v.reject(new EngineError('worker-stopped', `${stoppedMsg}; restarting it failed: ${asEngineError(e).message}`));
      },
    );
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch {
      // a listener's bug must not stop the restart
    }
  }
}
