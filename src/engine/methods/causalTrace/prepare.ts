import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import type { SegmentKey } from '../../model/sessions';

/** The sessions a trace grid runs: each block's hooked variant (clean, corrupted and restored runs) and the head. */
export function traceSessionKeys(nLayers: number): SegmentKey[] {
  const keys: SegmentKey[] = [];
  for (let l = 0; l < nLayers; l++) keys.push(`block.${l}.hooked`);
  keys.push('unembed');
  return keys;
}

/**
 * Creates the sessions a trace will use before it is asked for (a worker with a loaded model and
 * nothing to do), one at a time, yielding to the event loop between them: ORT's session creation is a
 * synchronous native call, so a request that arrives meanwhile waits for one session (tens of ms for a
 * GPT-2-small block, about a second for the head), never for all. The sessions are the same ones a
 * trace creates on first use (model/sessions.ts caches them; one already there is not created
 * again), so results do not change.
 */
export async function prepareTraceSessions(model: LoadedModel, signal?: AbortSignal): Promise<void> {
  for (const key of traceSessionKeys(model.config.n_layers)) {
    if (signal?.aborted) throw new LocusError('cancelled', 'cancelled');
    await new Promise<void>((resolve) => setImmediate(resolve));
    await model.sessions.get(key);
  }
}
