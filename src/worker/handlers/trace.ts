/** `trace/run`: Causal Tracing with cell-count progress and cancellation. */
import type { TraceRequest } from '../../engine/index';
import { runCausalTrace } from '../../engine/index';
import type { TraceResultDto } from '../../protocol/dto';
import type { HandlerTable, WorkerState } from '../state';
import { check } from '../state';

export function traceHandlers(state: WorkerState): HandlerTable<'trace/run'> {
  return {
    'trace/run': async (p, ctx) => {
      const model = state.requireModel();
      const { workDoneToken: _token, maxRows, ...rest } = p;
      check.string(rest.prompt, 'prompt');
      check.string(rest.subject, 'subject');
      const request: TraceRequest = rest;
      const result = await runCausalTrace(model, request, {
        signal: ctx.signal,
        maxRows: check.optInt(maxRows, 'maxRows', 1),
        onProgress: ({ done, total }) => ctx.progress({ done, total }),
      });
      // TraceResult is plain JSON already (grids are number[][]); the annotation checks it fits the DTO.
      const dto: TraceResultDto = result;
      return dto;
    },
  };
}
