/** `model/*`: loading the worker's one model and describing it. */
import { checkModelFolder, loadModel } from '../../engine/index';
import type { HandlerTable, WorkerState } from '../state';
import { check, modelInfo } from '../state';

export function modelHandlers(state: WorkerState): HandlerTable<'model/load' | 'model/info'> {
  return {
    'model/load': async (p, ctx) => {
      const spec = check.string(p.model, 'model');
      const threads = check.optInt(p.threads, 'threads', 1, 256);
      // A wrong folder (no config.json, unsupported architecture, no tokenizer) is refused while the loaded
      // model and its edits are still there. Past that, the old model is freed first: two large models at
      // once is how a worker runs out of memory.
      checkModelFolder(spec);
      await state.setModel(undefined);
      ctx.progress({ message: `loading ${spec}` });
      const model = await loadModel(spec, { threads, device: p.device });
      await state.setModel(model);
      return modelInfo(model);
    },
    'model/info': async () => (state.model ? modelInfo(state.model) : null),
  };
}
