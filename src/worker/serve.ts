/**
 * serve(connection): the worker's request handlers on any vscode-jsonrpc connection — Node IPC in
 * the real worker (main.ts), in-memory streams in tests. Every method except `worker/shutdown` runs
 * as a job on one queue (see src/protocol/engine.ts for progress, cancellation and error rules).
 */
import type { MessageConnection } from 'vscode-jsonrpc';
import { ResponseError } from 'vscode-jsonrpc';
import { isLocusError, LocusError, oneLine } from '../engine/index';
import type { EngineErrorData, EngineMethod, EngineParams, WorkDoneParams } from '../protocol/engine';
import { ENGINE_ERROR_CODES } from '../protocol/engine';
import { costHandlers } from './handlers/cost';
import { datasetHandlers } from './handlers/dataset';
import { editHandlers } from './handlers/edit';
import { generateHandlers } from './handlers/generate';
import { lensHandlers } from './handlers/lens';
import { modelHandlers } from './handlers/model';
import { probeHandlers } from './handlers/probe';
import { sequentialHandlers } from './handlers/sequential';
import { studyHandlers } from './handlers/study';
import { traceHandlers } from './handlers/trace';
import { JobQueue } from './jobs';
import type { JobContext } from './jobs';
import type { Handler, HandlerTable } from './state';
import { WorkerState, workerWording } from './state';

export interface ServeOptions {
  /** Called after `worker/shutdown` has been answered (main.ts exits the process; tests do nothing). */
  readonly onShutdown?: () => void;
}

export interface Served {
  /** Aborts every job, waits for the queue, disposes the model. Idempotent. */
  dispose(): Promise<void>;
}

/** LocusError → its code (cancelled: -32800, else -32803), data.code and its line; anything else → -32603 with the stack. */
export function toResponseError(e: unknown): ResponseError<EngineErrorData> {
  if (e instanceof ResponseError) return e as ResponseError<EngineErrorData>;
  if (isLocusError(e)) {
    const data: EngineErrorData = { code: e.code };
    // The extension shows the line as it comes (a notification, a panel's error row): always one line.
    const line = oneLine(workerWording(e.message));
    return new ResponseError(e.code === 'cancelled' ? ENGINE_ERROR_CODES.cancelled : ENGINE_ERROR_CODES.failed, line, data);
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return new ResponseError(ENGINE_ERROR_CODES.internal, err.message || 'internal error', { code: 'internal', stack: err.stack });
}

/** Requests that read only the file system, never the model: answered beside the queue (JobQueue.runNow). */
const UNQUEUED: ReadonlySet<EngineMethod> = new Set<EngineMethod>(['model/cached']);

export function serve(connection: MessageConnection, options: ServeOptions = {}): Served {
  const state = new WorkerState();
  const queue = new JobQueue(connection);
  const jobs: HandlerTable<Exclude<EngineMethod, 'worker/shutdown'>> = {
    ...modelHandlers(state),
    ...probeHandlers(state),
    ...traceHandlers(state),
    ...editHandlers(state),
    ...datasetHandlers(state),
    ...generateHandlers(state),
    ...studyHandlers(state),
    ...sequentialHandlers(state),
    ...costHandlers(state),
    ...lensHandlers(state),
  };

  let disposed: Promise<void> | undefined;
  const dispose = (): Promise<void> =>
    (disposed ??= (async () => {
      queue.abortAll();
      await queue.idle();
      await state.dispose();
    })());

  for (const method of Object.keys(jobs) as Array<keyof typeof jobs>) {
    const handler = jobs[method] as Handler<typeof method>;
    connection.onRequest(method, async (params: unknown, token) => {
      if (disposed) throw toResponseError(new LocusError('cancelled', 'the worker is shutting down'));
      // Params are always an object; tolerate a missing one for methods without params.
      const p = (params ?? {}) as EngineParams<typeof method> & WorkDoneParams;
      try {
        const job = (ctx: JobContext): Promise<unknown> => handler(p as never, ctx);
        return await (UNQUEUED.has(method) ? queue.runNow(token, job) : queue.run(token, p.workDoneToken, job));
      } catch (e) {
        throw toResponseError(e);
      }
    });
  }

  connection.onRequest('worker/shutdown' satisfies EngineMethod, async () => {
    await dispose();
    // Answer first, then let the host exit: the response must be on the wire before the process ends.
    setImmediate(() => options.onShutdown?.());
    return null;
  });

  return { dispose };
}
