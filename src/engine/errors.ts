/**
 * Errors a user can act on. The CLI prints `message` alone (one line, no stack) and exits non-zero;
 * the worker maps them onto JSON-RPC errors. Anything that is not a LocusError is a bug.
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
  | 'cancelled';

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
