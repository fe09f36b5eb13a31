/** `model/*`: loading the worker's one model and describing it. */
import type { CachedModel, Device } from '../../engine/index';
import { checkModelFolder, hfHubCacheDir, hubFolder, listCachedModels, loadModel } from '../../engine/index';
import type { CachedModelDto } from '../../protocol/dto';
import type { HandlerTable, WorkerState } from '../state';
import { check, modelInfo } from '../state';

const DEVICES: readonly Device[] = ['cpu', 'webgpu', 'cuda'];

export function modelHandlers(state: WorkerState): HandlerTable<'model/load' | 'model/info' | 'model/cached'> {
  return {
    'model/load': async (p, ctx) => {
      const spec = check.string(p.model, 'model');
      // The engine clamps threads to the machine's cores; this only refuses what is not a thread count.
      const threads = check.optInt(p.threads, 'threads', 1, 256);
      const device = check.optList(p.device === undefined || p.device === null ? undefined : [p.device], 'device', DEVICES)?.[0];
      const allowNonFinite = check.optBool(p.allowNonFinite, 'allowNonFinite') ?? false;
      // A wrong folder (no config.json, unsupported architecture, no tokenizer, config sizes the weights do
      // not have) is refused while the loaded model and its edits are still there. Past that, the old model
      // is freed first: two large models at once is how a worker runs out of memory.
      checkModelFolder(spec);
      await state.setModel(undefined);
      ctx.progress({ message: `loading ${spec}` });
      const model = await loadModel(spec, { threads, device, allowNonFinite });
      await state.setModel(model);
      return modelInfo(model);
    },
    'model/info': async () => (state.model ? modelInfo(state.model) : null),
    'model/cached': async (p) => {
      const given = check.optString(p.cacheDir, 'cacheDir');
      const cacheDir = given?.trim() ? hubFolder(given.trim()) : hfHubCacheDir();
      // Compile-time check that the engine's description fits the DTO (its unions included).
      const models: CachedModelDto[] = listCachedModels(cacheDir).map((m: CachedModel) => m);
      return { cacheDir, models };
    },
  };
}
