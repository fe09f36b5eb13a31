/**
 * AlphaEdit as the registry sees it (registry/spec.ts): MEMIT's window and z, the update projected onto
 * the null space of the preserved keys; P and the cache of earlier batches' keys live in the sequence
 * bag, so the batches of one sequential run share them (a single edit starts a fresh sequence).
 */
import { ftWindow } from '../finetune/index';
import type { EditMethodSpec, SequenceState } from '../registry/spec';
import type { AlphaEditHparams } from './hparams';
import { ALPHAEDIT_SPEC } from './hparams';
import type { AlphaEditState } from './index';
import { computeAlphaEdit } from './index';
import { alphaEditPresetFor } from './presets';

/** The sequence bag's key for AlphaEditState. */
const STATE_KEY = 'alphaedit';

const stateOf = (bag: SequenceState): AlphaEditState | undefined => bag.get(STATE_KEY) as AlphaEditState | undefined;

export const ALPHAEDIT_METHOD: EditMethodSpec<AlphaEditHparams> = {
  id: 'alphaedit',
  label: 'AlphaEdit',
  summary: "MEMIT's batched update projected onto the null space of the preserved keys, with earlier batches' keys kept (Fang et al., ICLR 2025); --layer centres a five-layer window",
  hparamsName: 'AlphaEdit',
  preset: alphaEditPresetFor,
  schema: ALPHAEDIT_SPEC,
  // As MEMIT: the preset's (or the hparams file's) window; --layer centres a 5-layer window there.
  editLayers: ({ layer, merged, config }) => ({ layers: layer === undefined ? merged.layers : ftWindow(layer, 5, config.n_layers) }),
  // P comes from C0 = E[k kᵀ] (experiments/evaluate.py get_project).
  usesKeyStatistics: () => true,
  templates: 'memit',
  async compute(model, requests, ctx) {
    const res = await computeAlphaEdit(
      model,
      requests,
      { hparams: ctx.hparams, contextTemplates: ctx.templateGroups, secondMoment: ctx.secondMoment, signal: ctx.signal, onProgress: ctx.onProgress, objective: ctx.objective },
      stateOf(ctx.sequence),
    );
    ctx.sequence.set(STATE_KEY, res.state);
    const ranks = res.layers.map((l) => `${l.layer}: ${res.state.projections.get(l.layer)!.rank}/${l.keys[0].length}`).join(', ');
    const n = res.state.batches;
    const sequence = n > 1 ? [`AlphaEdit: batch ${n} of this sequence (P from the unedited model, kept; cache_c holds the keys of batch${n > 2 ? `es 1–${n - 1}` : ' 1'})`] : [];
    const notes = [`AlphaEdit null-space dimension per layer (nullspace_threshold ${ctx.hparams.nullspace_threshold}): ${ranks}`, ...res.notes, ...sequence];
    return { edit: res.edit, keys: new Map(res.layers.map((l) => [l.layer, l.keys])), notes };
  },
};
