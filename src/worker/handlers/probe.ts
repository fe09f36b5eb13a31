/** `probe/run`: one forward pass, the top-k next tokens. */
import { probe } from '../../engine/index';
import type { HandlerTable, WorkerState } from '../state';
import { check } from '../state';

export function probeHandlers(state: WorkerState): HandlerTable<'probe/run'> {
  return {
    'probe/run': async (p, ctx) => {
      const model = state.requireModel();
      const prompt = check.string(p.prompt, 'prompt');
      const k = check.optInt(p.k, 'k', 1, model.config.d_vocab) ?? 10;
      const r = await probe(model, prompt, k, ctx.signal);
      return { tokens: r.tokens, ids: r.ids, top: r.top };
    },
  };
}
