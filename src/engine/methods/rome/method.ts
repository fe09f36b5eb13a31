/** ROME as the registry sees it (registry/spec.ts): the preset, the schema, one layer, and one rank-one update per request. */
import { LocusError } from '../../errors';
import type { ParamDelta } from '../edit/edits';
import { assertFiniteEdit, EditStack } from '../edit/edits';
import { romePresetFor } from '../edit/presets/choosePreset';
import type { EditMethodSpec } from '../registry/spec';
import type { RomeHparams } from './hparams';
import { ROME_SPEC } from './hparams';
import { computeRome } from './index';

export const ROME_METHOD: EditMethodSpec<RomeHparams> = {
  id: 'rome',
  label: 'ROME',
  summary: 'rank-one update of one MLP layer (Meng et al. 2022)',
  hparamsName: 'ROME',
  preset: romePresetFor,
  schema: ROME_SPEC,
  editLayers: ({ layer, merged }) => ({ layers: layer === undefined ? merged.layers : [layer] }),
  usesKeyStatistics: (h) => h.mom2_adjustment,
  templates: 'rome',
  // Fact Forcing: 25 v steps at v_lr 0.05 unless given (the seed paper's get_override_hparams).
  forcingOverrides: (raw) => ({ ...(raw['v_num_grad_steps'] === undefined ? { v_num_grad_steps: 25 } : {}), ...(raw['v_lr'] === undefined ? { v_lr: 0.05 } : {}) }),
  async compute(model, requests, ctx) {
    if (requests.length === 0) throw new LocusError('bad-input', 'no request to edit');
    // ROME edits one request at a time; several requests are applied one after another (a stack nested on the model's, reverted here).
    const stack = new EditStack(model);
    const deltas: ParamDelta[] = [];
    const keys = new Map<number, Float64Array[]>();
    try {
      // v* is shared (ctx.reuse) only for a single request: later requests' are computed on the earlier ones' updates.
      for (const r of requests) {
        const res = await computeRome(model, r, { hparams: ctx.hparams, contextTemplates: ctx.templates, secondMoment: ctx.secondMoment, signal: ctx.signal, onProgress: ctx.onProgress, objective: ctx.objective, subjectNoise: ctx.subjectNoise, reuse: requests.length === 1 ? ctx.reuse : undefined });
        assertFiniteEdit(res.edit);
        deltas.push(...res.edit.deltas);
        for (const d of res.details) keys.set(d.layer, [...(keys.get(d.layer) ?? []), d.kUpdate]);
        if (requests.length > 1) await stack.apply(res.edit);
      }
    } finally {
      await stack.revertAll();
    }
    return { edit: { method: 'rome', layers: ctx.hparams.layers, deltas }, keys };
  },
};
