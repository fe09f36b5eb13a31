/**
 * `trace/run`: Causal Tracing with cell-count progress and cancellation — with `preview`, the grid's
 * attribution-patching estimate first and every finished cell in the progress reports (issue 19 item 4);
 * `trace/retrace`: the same with and without the applied edits.
 */
import type { LoadedModel, TraceKind, TraceRequest, TraceScore, NoiseRule } from '../../engine/index';
import { attributionPreview, attributionSessionBytes, isLocusError, LocusError, recordTraceCost, retraceAppliedEdits, runCausalTrace } from '../../engine/index';
import type { RetraceResultDto, TraceParams, TracePreviewDto } from '../../protocol/engine';
import type { TraceResultDto } from '../../protocol/dto';
import type { JobContext } from '../jobs';
import type { HandlerTable, WorkerState } from '../state';
import { check, workerWording } from '../state';

const KINDS: readonly TraceKind[] = ['hidden', 'mlp', 'attn'];
const SCORES: readonly TraceScore[] = ['first-token', 'sequence'];
/**
 * Rows per restored batch. The engine bounds `samples` by memory but takes this knob as given, and a
 * batch's memory grows with its rows: more than twice the engine's default (480) buys no speed, only
 * memory, so a script's maxRows 1e9 is refused rather than tried.
 */
const MAX_ROWS = 1000;
/** No preview for a model whose gradient session would add more than this (about 430 M parameters: GPT-2 medium yes, large no). */
const PREVIEW_MEMORY_LIMIT = 4 * 2 ** 30;

/** `noise`: "sF" (F × the subjects' embedding std) or a number σ; the engine checks the value. */
function noiseOf(v: unknown): NoiseRule | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v as NoiseRule;
  return check.optNumber(v, 'noise');
}

/**
 * The request, field by field: types here (params crossed a process boundary), values in the engine,
 * so samples, seed, window and noise meet the same limits and messages as `locus trace`.
 */
function traceRequest(p: TraceParams): TraceRequest {
  const score = check.optString(p.score, 'score');
  if (score !== undefined && !SCORES.includes(score as TraceScore)) throw new LocusError('bad-input', `score must be one of ${SCORES.join(', ')} (got ${JSON.stringify(score)})`);
  return {
    prompt: check.string(p.prompt, 'prompt'),
    subject: check.string(p.subject, 'subject'),
    kinds: check.optList(p.kinds, 'kinds', KINDS),
    window: check.optNumber(p.window, 'window'),
    samples: check.optNumber(p.samples, 'samples'),
    noise: noiseOf(p.noise),
    noiseSubjects: check.optStrings(p.noiseSubjects, 'noiseSubjects'),
    seed: check.optNumber(p.seed, 'seed'),
    target: check.optString(p.target, 'target'),
    score: score as TraceScore | undefined,
  };
}

/**
 * The grid's attribution preview, sent as the first report (done 0): one clean and one corrupted forward
 * and one backward, a fraction of a second once its session exists (the worker prepares it after a load).
 * A preview that fails is no reason to withhold the exact grid: the report then says why there is none.
 */
async function sendPreview(model: LoadedModel, request: TraceRequest, ctx: JobContext): Promise<void> {
  const bytes = attributionSessionBytes(model);
  if (bytes > PREVIEW_MEMORY_LIMIT) {
    ctx.progress({ done: 0, message: `Tracing (no preview: its gradient session would need about ${(bytes / 2 ** 30).toFixed(1)} GiB more memory for this model)…` });
    return;
  }
  try {
    const preview: TracePreviewDto = await attributionPreview(model, request, { signal: ctx.signal });
    ctx.progress({ done: 0, trace: { preview } });
  } catch (e) {
    // The user's mistakes (a subject not in the prompt) and a cancel end the job, as the trace would.
    if (ctx.signal.aborted || (isLocusError(e) && (e.code === 'cancelled' || e.code === 'bad-input'))) throw e;
    ctx.progress({ done: 0, message: `Tracing (no preview: ${workerWording(e instanceof Error ? e.message : String(e))})…` });
  }
}

export function traceHandlers(state: WorkerState): HandlerTable<'trace/run' | 'trace/retrace'> {
  return {
    'trace/run': async (p, ctx) => {
      const model = state.requireModel();
      const request = traceRequest(p);
      const streamed = check.optBool(p.preview, 'preview') === true;
      if (streamed) await sendPreview(model, request, ctx);
      const result = await runCausalTrace(model, request, {
        signal: ctx.signal,
        maxRows: check.optInt(p.maxRows, 'maxRows', 1, MAX_ROWS),
        // With a preview on screen, each batch's exact cells replace it where they land.
        onProgress: ({ done, total, cells }) => ctx.progress(streamed && cells ? { done, total, trace: { cells } } : { done, total }),
      });
      // This machine's cost per restored run, for the next cost/estimate (issue 19 item 5).
      recordTraceCost(model, result);
      // TraceResult is plain JSON already (grids are number[][]); the annotation checks it fits the DTO.
      const dto: TraceResultDto = result;
      return dto;
    },
    'trace/retrace': async (p, ctx) => {
      const model = state.requireModel();
      const request = traceRequest(p);
      const edits = [...state.applied.values()].map((a) => a.edit);
      if (edits.length === 0) throw new LocusError('bad-input', 'no edit is applied: apply an edit first, then re-trace with it');
      // The stack's edits are the model's overrides now (jobs run one at a time: no nested stack is open).
      const applied = { method: [...new Set(edits.map((e) => e.method))].join(' + '), layers: [...new Set(edits.flatMap((e) => e.layers))].sort((a, b) => a - b) };
      const result = await retraceAppliedEdits(model, request, applied, {
        signal: ctx.signal,
        maxRows: check.optInt(p.maxRows, 'maxRows', 1, MAX_ROWS),
        onProgress: ({ done, total }) => ctx.progress({ done, total }),
      });
      const dto: RetraceResultDto = result;
      return dto;
    },
  };
}
