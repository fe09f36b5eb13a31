/**
 * How a failed request reads to the user. No vscode import, so it is unit-tested.
 *
 * The worker answers every error the user can act on (a LocusError: bad input, a file it cannot read or
 * write, NaN in the weights or the results, a folder another study holds, …) with one line that names
 * the value or file, what is wrong and what to do: the extension shows that line exactly as it came.
 * Only an internal error (a bug in Locus) says so, and points to the output channel, where its stack is
 * logged; a cancellation is the user's own doing and is not an error at all.
 */
import { EngineError } from './workerClient';

export type FailureKind = 'cancelled' | 'user' | 'internal';

export function failureKind(e: unknown): FailureKind {
  if (!(e instanceof EngineError)) return 'user';
  if (e.code === 'cancelled') return 'cancelled';
  return e.code === 'internal' ? 'internal' : 'user';
}

export const isCancellation = (e: unknown): boolean => failureKind(e) === 'cancelled';

/** One readable line for any failure: the worker's message as is; an internal error says it is one. */
export function errorMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  if (failureKind(e) !== 'internal') return text;
  const first = text.split('\n')[0] || 'an unknown error';
  return `internal error in Locus: ${first} (the details are in the Locus output; please report it)`;
}
