/** `lens/run`: the logit lens of a prompt (the engine's logitLens, `locus lens`), with per-layer progress and cancellation. */
import { LocusError, logitLens } from '../../engine/index';
import type { LensResultDto } from '../../protocol/panels/lens';
import { LENS_MAX_TOP } from '../../protocol/panels/lens';
import type { HandlerTable, WorkerState } from '../state';
import { check } from '../state';

export function lensHandlers(state: WorkerState): HandlerTable<'lens/run'> {
  return {
    'lens/run': async (p, ctx) => {
      const model = state.requireModel();
      const prompt = check.string(p.prompt, 'prompt');
      const top = check.optInt(p.top, 'top', 1, Math.min(LENS_MAX_TOP, model.config.d_vocab));
      const answer = check.optString(p.answer, 'answer');
      // Some tokenizers drop what they cannot read (a prompt of only control characters): a clear line, not an empty forward.
      if (prompt.length > 0 && model.tokenizer.encode(prompt).ids.length === 0) {
        throw new LocusError('bad-input', `the prompt ${JSON.stringify(prompt.slice(0, 40))} has no tokens for ${model.manifest.name}'s tokenizer: give some text`);
      }
      ctx.progress({ message: 'decoding every layer', done: 0, total: model.config.n_layers });
      const result = await logitLens(model, prompt, {
        top,
        answer: answer === '' ? undefined : answer,
        signal: ctx.signal,
        onProgress: ({ done, total }) => ctx.progress({ message: 'decoding every layer', done, total }),
      });
      // LensResult is plain JSON already; the annotation checks it fits the DTO.
      const dto: LensResultDto = result;
      return dto;
    },
  };
}
