/** EMMET as the registry sees it (registry/spec.ts): the authors' preset (or MEMIT's window as EMMET), one batched equality-constrained update. */
import { ftWindow } from '../finetune/index';
import type { EditMethodSpec } from '../registry/spec';
import type { EmmetHparams } from './hparams';
import { EMMET_SPEC } from './hparams';
import { computeEmmet } from './index';
import { emmetPresetFor } from './presets';

export const EMMET_METHOD: EditMethodSpec<EmmetHparams> = {
  id: 'emmet',
  label: 'EMMET',
  summary: 'batched ROME with equality constraints over a window of MLP layers (Gupta et al. 2024); --layer centres the preset-wide window',
  hparamsName: 'EMMET',
  preset: emmetPresetFor,
  schema: EMMET_SPEC,
  // --layer: the preset's window width (one layer in the authors' files) centred there.
  editLayers: ({ layer, merged, config }) => ({ layers: layer === undefined ? merged.layers : ftWindow(layer, merged.layers.length, config.n_layers) }),
  // execute_emmet always weights its update by C.
  usesKeyStatistics: () => true,
  templates: 'memit',
  async compute(model, requests, ctx) {
    const res = await computeEmmet(model, requests, { hparams: ctx.hparams, contextTemplates: ctx.templateGroups, secondMoment: ctx.secondMoment, signal: ctx.signal, onProgress: ctx.onProgress, objective: ctx.objective });
    const notes = res.layers.filter((l) => l.pseudoInverse).map((l) => `EMMET layer ${l.layer}: D = KᵀC⁻¹K was singular; its pseudo-inverse was used (as the reference's fallback)`);
    return { edit: res.edit, keys: new Map(res.layers.map((l) => [l.layer, l.keys])), notes };
  },
};
