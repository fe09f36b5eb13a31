import { LocusError } from '../../errors';
import type { KeyRule, MergeSpec } from '../edit/hparamValues';
import { bool, mergeHparams, num } from '../edit/hparamValues';
import type { MemitHparams } from '../memit/hparams';
import { MEMIT_GPT2_XL, MEMIT_SPEC, randomLayerSelectionNote } from '../memit/hparams';

/**
 * EMMET's hyper-parameters with the authors' snake_case keys (scalable-model-editing/unified-model-editing
 * emmet/emmet_hparams.py, hparams/EMMET/*.json): MEMIT's, plus
 * - `mom2_update_weight` λ: C = λ·E[k kᵀ] (the preservation weight);
 * - `emmet_lambda` μ: D = Kᵀ C⁻¹ K + μ I when the batch has more than one edit ("to counter ill-conditioned D");
 * - `update_norm_lambda` ν: C += ν I (a penalty on ‖ΔW‖);
 * - `calculate_objective_value`: the reference then also reports preservation/edit distances (the edit is the same).
 */
export interface EmmetHparams extends MemitHparams {
  emmet_lambda: number;
  update_norm_lambda: number;
  calculate_objective_value: boolean;
  /** Read by later versions of compute_z; only 0 or more (no rank-1 stop) is supported. */
  prob_cutoff: number;
}

/** unified-model-editing hparams/EMMET/gpt2-xl.json (layer 17 of 48, λ 1000, μ 0.1). */
export const EMMET_GPT2_XL: EmmetHparams = {
  ...MEMIT_GPT2_XL,
  layers: [17],
  mom2_update_weight: 1000,
  calculate_objective_value: false,
  update_norm_lambda: 0,
  emmet_lambda: 0.1,
  prob_cutoff: 0,
};

/** unified-model-editing hparams/EMMET/EleutherAI_gpt-j-6B.json (layer 5 of 28, 25 z steps, λ 10000). */
export const EMMET_GPT_J: EmmetHparams = { ...EMMET_GPT2_XL, layers: [5], v_num_grad_steps: 25, v_loss_layer: 27, mom2_update_weight: 10000 };

/** unified-model-editing hparams/EMMET/llama2-7b.json (layer 5 of 32, clamp 4, weight decay 1e-3, λ 1). */
export const EMMET_LLAMA2_7B: EmmetHparams = { ...EMMET_GPT2_XL, layers: [5], clamp_norm_factor: 4, v_num_grad_steps: 25, v_loss_layer: 31, v_weight_decay: 1e-3, mom2_update_weight: 1 };

/** A negative `prob_cutoff` (a later compute_z option) stops z a number of steps after the target reaches rank 1; the files hold 0. */
const probCutoff: KeyRule = (v, key, source) => {
  if (typeof v === 'number' && v < 0) throw new LocusError('bad-config', `${source}: "${key}" below 0 (stop z after the target reaches rank 1) is not yet supported (got ${v})`);
  return num(false)(v, key, source);
};

export const EMMET_SPEC: MergeSpec = {
  rules: { ...MEMIT_SPEC.rules, emmet_lambda: num(false), update_norm_lambda: num(false), calculate_objective_value: bool, prob_cutoff: probCutoff },
  ignored: [...MEMIT_SPEC.ignored, { key: /^norm_control$/, note: "declared in EMMET's hparams, never read by its code" }],
  notes: (merged, raw, source) => [
    ...randomLayerSelectionNote('EMMET', raw, source),
    ...(merged['calculate_objective_value'] === true ? [`${source}: calculate_objective_value: the preservation and edit distances are not computed (the edit is unchanged)`] : []),
  ],
};

/** Overrides `base` with a reference-style hparams object; notes for keys that do not apply. */
export function mergeEmmetHparams(base: EmmetHparams, raw: Record<string, unknown>, source = 'hparams'): { hparams: EmmetHparams; notes: string[] } {
  return mergeHparams(base, raw, EMMET_SPEC, source);
}
