/**
 * Errors a user can act on. The CLI prints `message` alone (one line, no stack) and exits with status 2;
 * the worker maps them onto JSON-RPC errors and the extension shows the same line. Anything that is not
 * a LocusError is a bug. A message names the flag or file and what is wrong with it.
 */
export type LocusErrorCode =
  | 'not-found'
  | 'bad-config'
  | 'unsupported-architecture'
  | 'bad-weights'
  | 'missing-tensor'
  | 'shape-mismatch'
  | 'unsupported-format'
  | 'missing-tokenizer'
  | 'bad-input'
  | 'cancelled'
  /** A computed quantity (score, ΔW, weight) is NaN or ±Inf. */
  | 'non-finite'
  /** A file or folder cannot be read or written (permissions, a file where a folder is needed, …). */
  | 'io'
  /** Another process holds the lock on a folder this command would write. */
  | 'busy';

export class LocusError extends Error {
  constructor(
    readonly code: LocusErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LocusError';
  }
}

export function isLocusError(e: unknown): e is LocusError {
  return e instanceof LocusError;
}

/** A user error is one line: text that grew a second line (a quoted file, a nested error) is folded. */
export const oneLine = (message: string): string => message.replace(/\s*\n\s*/g, ' ');
