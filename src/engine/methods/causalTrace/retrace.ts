import type { LoadedModel } from '../../model/model';
import { EditStack } from '../edit/edits';
import type { Edit } from '../edit/edits';
import { runCausalTrace } from './trace';
import type { TraceOptions } from './trace';
import type { TraceGrid, TraceKind, TraceRequest, TraceResult } from './types';

type Grids = Partial<Record<TraceKind, TraceGrid>>;

/**
 * `locus trace --edit` (CONTRACTS.md): the top-level fields are the edited model's trace; `original`
 * is the unedited model's under the same request and the same noise draws; `difference` is edited −
 * original, cell by cell. `edit` names what was applied, so a view can mark its layers.
 */
export interface RetraceResult extends TraceResult {
  readonly original: { readonly highScore: number; readonly lowScore: number; readonly grids: Grids };
  readonly difference: { readonly grids: Grids };
  readonly edit: { readonly method: string; readonly layers: readonly number[] };
}

/** edited − original per cell (float64 subtraction of the reported scores, so it equals what a reader computes from the JSON). */
export function gridDifference(edited: Grids, original: Grids): Grids {
  const out: Grids = {};
  for (const kind of Object.keys(edited) as TraceKind[]) {
    const e = edited[kind]!;
    const o = original[kind]!;
    out[kind] = { window: e.window, scores: e.scores.map((row, t) => row.map((v, l) => v - o.scores[t][l])) };
  }
  return out;
}

/**
 * Both traces with the same draws. The original runs first and fixes what the edited run must reuse:
 * the answer (as token ids, so an edit that changes the top token is still scored on the same answer
 * and the difference compares like with like; pass `target` to trace the edit's new target instead)
 * and σ (an edit of the embeddings must not move the noise scale). The seed is the request's, and
 * noiseDraws re-creates RandomState(seed) per trace, so both runs add the same float32 noise.
 */
async function traceBoth(
  model: LoadedModel,
  req: TraceRequest,
  opts: TraceOptions,
  edit: { method: string; layers: readonly number[] },
  runOriginal: (job: () => Promise<TraceResult>) => Promise<TraceResult>,
  runEdited: (job: () => Promise<TraceResult>) => Promise<TraceResult>,
): Promise<RetraceResult> {
  let cellsPerTrace = 0;
  const progress = (offset: () => number): TraceOptions['onProgress'] =>
    opts.onProgress &&
    (({ done, total }) => {
      cellsPerTrace = total;
      opts.onProgress!({ done: offset() + done, total: 2 * total });
    });
  const original = await runOriginal(() => runCausalTrace(model, req, { ...opts, onProgress: progress(() => 0) }));
  const edited = await runEdited(() =>
    runCausalTrace(model, { ...req, targetIds: original.answer.ids, noise: original.noiseLevel }, { ...opts, onProgress: progress(() => cellsPerTrace) }),
  );
  return {
    ...edited,
    original: { highScore: original.highScore, lowScore: original.lowScore, grids: original.grids },
    difference: { grids: gridDifference(edited.grids, original.grids) },
    edit: { method: edit.method, layers: [...edit.layers] },
    seconds: original.seconds + edited.seconds,
  };
}

/**
 * Traces `model` as it is (original) and with `edit` applied on a nested EditStack (edited); the stack
 * is reverted before returning, whatever happens, so the model is bit for bit as it was.
 */
export async function retraceWithEdit(model: LoadedModel, req: TraceRequest, edit: Edit, opts: TraceOptions = {}): Promise<RetraceResult> {
  return traceBoth(model, req, opts, edit, (job) => job(), async (job) => {
    const stack = new EditStack(model);
    try {
      await stack.apply(edit);
      return await job();
    } finally {
      await stack.revertAll();
    }
  });
}

/**
 * The Fact panel's re-trace: `model` already carries the user's applied edits (edited); the original
 * runs on the file's weights with those edits lifted and then put back as the very same tensors
 * (ParamOverrides.onFileWeights: nothing re-added or recomputed, so bit-exact).
 */
export async function retraceAppliedEdits(model: LoadedModel, req: TraceRequest, edit: { method: string; layers: readonly number[] }, opts: TraceOptions = {}): Promise<RetraceResult> {
  return traceBoth(model, req, opts, edit, (job) => model.overrides.onFileWeights(job), (job) => job());
}
