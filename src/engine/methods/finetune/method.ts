/**
 * Constrained fine-tuning as the registry sees it (registry/spec.ts): one spec per window size, the
 * seed paper's FT-1 ('ft') and FT-5 ('ft5'), both centred on ROME's preset layer by default.
 */
import { ftPresetFor, romePresetFor } from '../edit/presets/choosePreset';
import type { EditMethodSpec } from '../registry/spec';
import type { FtHparams } from './hparams';
import { FT_SPEC, ftWindow } from './hparams';
import { computeFineTune } from './index';

function fineTuneMethod(id: string, label: string, size: number, summary: string): EditMethodSpec<FtHparams> {
  return {
    id,
    label,
    summary,
    hparamsName: 'FT',
    preset: ftPresetFor,
    schema: FT_SPEC,
    editLayers: ({ layer, raw, merged, config }) => {
      // The hparams file's own layers when --layer is not given; else the window around --layer or ROME's preset layer.
      if (layer === undefined && raw['layers']) return { layers: merged.layers };
      const romeLayer = romePresetFor(config).hparams.layers[0];
      const notes = layer === undefined ? [`FT layer window centred on ROME's preset layer ${romeLayer}`] : [];
      return { layers: ftWindow(layer ?? romeLayer, size, config.n_layers), notes };
    },
    usesKeyStatistics: () => false,
    templates: 'none',
    // Fact Forcing trains 50 epochs on 10 noised copies (seed-paper.md §3.4) unless num_steps is given.
    forcingOverrides: (raw) => (raw['num_steps'] === undefined ? { num_steps: 50 } : {}),
    async compute(model, requests, ctx) {
      const subjectNoise = ctx.subjectNoise === undefined ? undefined : { sigma: ctx.subjectNoise, copies: 10 };
      const res = await computeFineTune(model, requests, { hparams: ctx.hparams, objective: ctx.objective, subjectNoise, signal: ctx.signal });
      return { edit: { ...res.edit, method: id }, notes: res.notes };
    },
  };
}

export const FT_METHODS: readonly EditMethodSpec<FtHparams>[] = [
  fineTuneMethod('ft', 'FT-1', 1, 'constrained fine-tuning of one MLP layer (the seed paper\'s FT-1)'),
  fineTuneMethod('ft5', 'FT-5', 5, 'constrained fine-tuning of five MLP layers around the layer (FT-5)'),
];
