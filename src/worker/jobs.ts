/**
 * The worker's job queue: one job at a time (one model per worker, so two requests never race on
 * it), in arrival order. Each job gets an AbortSignal wired to its JSON-RPC CancellationToken and a
 * progress reporter that speaks LSP work-done progress (`$/progress` begin/report/end) when the
 * client passed a `workDoneToken`.
 */
import type { CancellationToken, MessageConnection } from 'vscode-jsonrpc';
import { ProgressType } from 'vscode-jsonrpc';
import { isLocusError, LocusError } from '../engine/index';
import type { JobProgress, ProgressToken } from '../protocol/engine';

/** `$/progress` with a JobProgress value (the type is compile-time only; the method is `$/progress`). */
export const JOB_PROGRESS = new ProgressType<JobProgress>();

export interface JobContext {
  /** Aborted when the client cancels; pass it to the engine, which throws LocusError('cancelled'). */
  readonly signal: AbortSignal;
  /** Sends a `report` to the client (a no-op without a workDoneToken). */
  progress(p: Omit<JobProgress, 'kind'>): void;
}

/** Resolves when `p` settles or `signal` aborts, whichever is first. */
function settledOrAborted(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

export class JobQueue {
  /** Settles when every job queued so far has finished (never rejects). */
  private tail: Promise<void> = Promise.resolve();
  private readonly live = new Set<AbortController>();

  constructor(private readonly connection: MessageConnection) {}

  /**
   * Queues `job`. It starts when every earlier job has finished; cancelled while queued, it never
   * starts and rejects with LocusError('cancelled') at once (later jobs still wait for earlier ones).
   */
  run<T>(token: CancellationToken, workDoneToken: ProgressToken | undefined, job: (ctx: JobContext) => Promise<T>): Promise<T> {
    const { ctl, untrack } = this.track(token);
    const send = (value: JobProgress): void => this.sendProgress(workDoneToken, value);
    const previous = this.tail;
    const result = (async (): Promise<T> => {
      await settledOrAborted(previous, ctl.signal);
      if (ctl.signal.aborted) throw new LocusError('cancelled', 'cancelled before it started');
      send({ kind: 'begin' });
      try {
        return await job({ signal: ctl.signal, progress: (p) => send({ kind: 'report', ...p }) });
      } catch (e) {
        // An engine call that noticed the abort in its own way still reads as a cancellation.
        if (ctl.signal.aborted && !isLocusError(e)) throw new LocusError('cancelled', 'cancelled');
        throw e;
      } finally {
        send({ kind: 'end' });
      }
    })();
    result.then(untrack, untrack);
    this.tail = Promise.allSettled([previous, result]).then(() => undefined);
    return result;
  }

  /**
   * Runs `job` now, beside whatever is queued: only for requests that touch neither the model nor
   * the worker's state (listing the Hugging Face cache), so a long trace does not hold up a picker.
   * It still ends with the worker (abortAll aborts it) and never reports progress.
   */
  runNow<T>(token: CancellationToken, job: (ctx: JobContext) => Promise<T>): Promise<T> {
    const { ctl, untrack } = this.track(token);
    const result = ctl.signal.aborted ? Promise.reject(new LocusError('cancelled', 'cancelled before it started')) : job({ signal: ctl.signal, progress: () => undefined });
    result.then(untrack, untrack);
    return result;
  }

  /** An AbortController wired to `token` and counted live (abortAll) until `untrack` is called. */
  private track(token: CancellationToken): { ctl: AbortController; untrack: () => void } {
    const ctl = new AbortController();
    const subscription = token.onCancellationRequested(() => ctl.abort());
    if (token.isCancellationRequested) ctl.abort();
    this.live.add(ctl);
    return {
      ctl,
      untrack: () => {
        subscription.dispose();
        this.live.delete(ctl);
      },
    };
  }

  /** Aborts every queued and running job (shutdown). */
  abortAll(): void {
    for (const ctl of this.live) ctl.abort();
  }

  /** Resolves when every job queued so far has finished. */
  idle(): Promise<void> {
    return this.tail;
  }

  private sendProgress(token: ProgressToken | undefined, value: JobProgress): void {
    if (token === undefined) return;
    try {
      // A closed connection throws synchronously and rejects asynchronously; progress is best effort.
      void this.connection.sendProgress(JOB_PROGRESS, token, value).catch(() => undefined);
    } catch {
      // the client is gone: nobody to report to
    }
  }
}
