/** MEMIT as the registry sees it (registry/spec.ts): the preset's window (or five layers around --layer), one batched update. */
import { memitPresetFor } from '../edit/presets/choosePreset';
import { ftWindow } from '../finetune/index';
import type { EditMethodSpec } from '../registry/spec';
import type { MemitHparams } from './hparams';
import { MEMIT_SPEC } from './hparams';
import { computeMemit } from './index';

export const MEMIT_METHOD: EditMethodSpec<MemitHparams> = {
  id: 'memit',
  label: 'MEMIT',
  summary: 'batched update of a window of MLP layers (Meng et al. 2023); --layer centres a five-layer window',
  hparamsName: 'MEMIT',
  preset: memitPresetFor,
  schema: MEMIT_SPEC,
  // No --layer: the preset's (or the hparams file's) own window; --layer: a 5-layer window centred there.
  editLayers: ({ layer, merged, config }) => ({ layers: layer === undefined ? merged.layers : ftWindow(layer, 5, config.n_layers) }),
  // execute_memit always weights its update by C (mom2_adjustment is never read).
  usesKeyStatistics: () => true,
  templates: 'memit',
  async compute(model, requests, ctx) {
    const res = await computeMemit(model, requests, { hparams: ctx.hparams, contextTemplates: ctx.templateGroups, secondMoment: ctx.secondMoment, signal: ctx.signal, onProgress: ctx.onProgress, objective: ctx.objective });
    return { edit: res.edit, keys: new Map(res.layers.map((l) => [l.layer, l.keys])) };
  },
};
