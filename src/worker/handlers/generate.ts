/** `generate/run`: a short seeded top-k continuation on the loaded (possibly edited) model. */
import { generateText } from '../../engine/index';
import type { HandlerTable, WorkerState } from '../state';
import { check } from '../state';

export function generateHandlers(state: WorkerState): HandlerTable<'generate/run'> {
  return {
    'generate/run': async (p, ctx) => {
      const model = state.requireModel();
      const prompt = check.string(p.prompt, 'prompt');
      const maxNewTokens = check.optInt(p.maxNewTokens, 'maxNewTokens', 1, model.config.n_ctx) ?? 20;
      const topK = check.optInt(p.topK, 'topK', 1, model.config.d_vocab) ?? 5;
      const seed = check.optInt(p.seed, 'seed', 0) ?? 0;
      const r = await generateText(model, prompt, { maxNewTokens, topK, seed, signal: ctx.signal });
      return { prompt, text: r.text, tokens: r.tokens };
    },
  };
}
