import type { MergeSpec } from '../edit/hparamValues';
import { mergeHparams, num, oneOf } from '../edit/hparamValues';
import type { RomeHparams } from '../rome/hparams';
import { SHARED_IGNORED, SHARED_RULES } from '../rome/hparams';

/**
 * MEMIT's hyper-parameters with the reference's own snake_case keys (kmeng01/memit
 * memit/memit_hparams.py, hparams/MEMIT/*.json), so a researcher's files load unchanged. Module-name
 * templates are not needed (the engine names layers canonically) and are accepted and ignored.
 * `mom2_adjustment` is kept for fidelity but, as in the reference's execute_memit, never read: MEMIT
 * always weights its update by the keys' second moment C.
 */
export interface MemitHparams extends Omit<RomeHparams, 'context_template_length_params'> {
  /** The edited layers in ascending order; z is optimized at the last (`z_layer = layers[-1]`). */
  layers: number[];
  layer_selection: 'all' | 'random';
  /** λ in ΔW = R Kᵀ (λ C + K Kᵀ)⁻¹ (MEMIT eq. 14, C₀ = λ · E[k kᵀ]). */
  mom2_update_weight: number;
}

/** MEMIT's hparams/MEMIT/gpt2-xl.json (layers 13–17 of 48). */
export const MEMIT_GPT2_XL: MemitHparams = {
  layers: [13, 14, 15, 16, 17],
  layer_selection: 'all',
  fact_token: 'subject_last',
  v_num_grad_steps: 20,
  v_lr: 0.5,
  v_loss_layer: 47,
  v_weight_decay: 0.5,
  clamp_norm_factor: 0.75,
  kl_factor: 0.0625,
  mom2_adjustment: true,
  mom2_update_weight: 20000,
  mom2_dataset: 'wikipedia',
  mom2_n_samples: 100000,
  mom2_dtype: 'float32',
};

/** MEMIT's hparams/MEMIT/EleutherAI_gpt-j-6B.json (layers 3–8 of 28). */
export const MEMIT_GPT_J: MemitHparams = { ...MEMIT_GPT2_XL, layers: [3, 4, 5, 6, 7, 8], v_num_grad_steps: 25, v_loss_layer: 27, mom2_update_weight: 15000 };

export const MEMIT_SPEC: MergeSpec = {
  rules: {
    ...SHARED_RULES,
    mom2_update_weight: num(false),
    layer_selection: oneOf(['all', 'random']),
  },
  // ROME's template key: MEMIT samples its own template groups.
  ignored: [...SHARED_IGNORED, { key: /^context_template_length_params$/, note: 'MEMIT samples its own context templates; --context-templates gives them' }],
  // The reference declares it but execute_memit never reads it: every layer in `layers` is edited.
  notes: (_h, raw, source) => randomLayerSelectionNote('MEMIT', raw, source),
};

/** The note for `layer_selection: "random"`, which MEMIT and the methods built on its layer loop declare but never read. */
export function randomLayerSelectionNote(method: string, raw: Record<string, unknown>, source: string): string[] {
  return raw['layer_selection'] === 'random' ? [`${source}: layer_selection "random" has no effect (${method} edits every layer in "layers")`] : [];
}

/**
 * Overrides `base` with a reference-style hparams object; returns notes for keys that do not apply.
 * A value of the wrong type or range is a LocusError naming the key and `source` (the file).
 */
export function mergeMemitHparams(base: MemitHparams, raw: Record<string, unknown>, source = 'hparams'): { hparams: MemitHparams; notes: string[] } {
  return mergeHparams(base, raw, MEMIT_SPEC, source);
}
