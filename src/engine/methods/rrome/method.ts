/** r-ROME as the registry sees it (registry/spec.ts): ROME's preset and layer with r-ROME's key flags, one rank-one update per request. */
import { LocusError } from '../../errors';
import type { ParamDelta } from '../edit/edits';
import { assertFiniteEdit, EditStack } from '../edit/edits';
import type { EditMethodSpec } from '../registry/spec';
import type { RromeHparams } from './hparams';
import { RROME_SPEC } from './hparams';
import { computeRrome } from './index';
import { rromePresetFor } from './presets';

export const RROME_METHOD: EditMethodSpec<RromeHparams> = {
  id: 'rrome',
  label: 'r-ROME',
  summary: "ROME whose update uses the same template-averaged key as u (Gupta et al. 2024): no disabling edits from a tiny k·u",
  hparamsName: 'r-ROME',
  preset: rromePresetFor,
  schema: RROME_SPEC,
  editLayers: ({ layer, merged }) => ({ layers: layer === undefined ? merged.layers : [layer] }),
  usesKeyStatistics: (h) => h.mom2_adjustment,
  templates: 'rome',
  async compute(model, requests, ctx) {
    if (requests.length === 0) throw new LocusError('bad-input', 'no request to edit');
    // One request at a time, as ROME (rebuilding-rome's apply_rome_to_model loops over requests); a nested stack holds the earlier ones.
    const stack = new EditStack(model);
    const deltas: ParamDelta[] = [];
    const keys = new Map<number, Float64Array[]>();
    const notes: string[] = [];
    try {
      for (const r of requests) {
        const res = await computeRrome(model, r, { hparams: ctx.hparams, contextTemplates: ctx.templates, secondMoment: ctx.secondMoment, signal: ctx.signal, onProgress: ctx.onProgress, objective: ctx.objective });
        assertFiniteEdit(res.edit);
        deltas.push(...res.edit.deltas);
        for (const d of res.details) {
          keys.set(d.layer, [...(keys.get(d.layer) ?? []), d.kUpdate]);
          notes.push(`r-ROME layer ${d.layer}: division factor k_update·u ${d.dotKU.toPrecision(4)} (ROME's k_prompt·u ${d.dotKPromptU.toPrecision(4)})`);
        }
        if (requests.length > 1) await stack.apply(res.edit);
      }
    } finally {
      await stack.revertAll();
    }
    return { edit: { method: 'rrome', layers: ctx.hparams.layers, deltas }, keys, notes };
  },
};
