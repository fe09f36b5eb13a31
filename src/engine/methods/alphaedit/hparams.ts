import type { MergeSpec } from '../edit/hparamValues';
import { mergeHparams, num } from '../edit/hparamValues';
import type { MemitHparams } from '../memit/hparams';
import { MEMIT_GPT2_XL, MEMIT_SPEC, randomLayerSelectionNote } from '../memit/hparams';

/**
 * AlphaEdit's hyper-parameters with the reference's snake_case keys (jianghoucheng/AlphaEdit
 * AlphaEdit/AlphaEdit_hparams.py, hparams/AlphaEdit/*.json): MEMIT's (the z optimisation and the layer
 * range are MEMIT's, compute_z.py is shared) plus the null-space threshold and the solve's ridge.
 * `mom2_update_weight` is read by the reference's files but not by apply_AlphaEdit_to_model (C0 enters
 * only through P); it is kept so a researcher's file loads unchanged.
 */
export interface AlphaEditHparams extends MemitHparams {
  /** Eigenvectors of C0 whose singular value is below this span the preserved keys' null space (get_project: `S < threshold`). */
  nullspace_threshold: number;
  /** α in ΔW = (P (K Kᵀ + cache_c) + α I)⁻¹ P K Rᵀ (AlphaEdit_main.py: `hparams.L2 * torch.eye`). */
  L2: number;
}

/**
 * hparams/AlphaEdit/gpt2-xl.json (jianghoucheng/AlphaEdit @110e051): MEMIT's GPT-2 XL range 13–17, clamp
 * 0.75, 20 z steps, v_weight_decay 0.5, nullspace_threshold 2e-2, L2 10. On small models L2 = 10 can leave
 * the edit inert (‖P k‖² ≪ 10: golden/README.md, alphaedit_*.json, where L2 = 1 is used).
 */
export const ALPHAEDIT_GPT2_XL: AlphaEditHparams = { ...MEMIT_GPT2_XL, layers: [...MEMIT_GPT2_XL.layers], nullspace_threshold: 2e-2, L2: 10 };

/** MEMIT's keys (AlphaEdit's z, keys and window are MEMIT's) plus the projection's and the solve's. */
export const ALPHAEDIT_SPEC: MergeSpec = {
  rules: {
    ...MEMIT_SPEC.rules,
    nullspace_threshold: num(true),
    // L2 = 0 would leave P (K Kᵀ + cache_c) singular on the preserved keys' span: the reference's solve fails there too.
    L2: num(true),
  },
  ignored: [...MEMIT_SPEC.ignored, { key: /^model_name$/, note: 'the model is the one loaded' }],
  notes: (_h, raw, source) => randomLayerSelectionNote('AlphaEdit', raw, source),
};

/**
 * Overrides `base` with a reference-style hparams object; notes for keys that do not apply. A value of
 * the wrong type or range is a LocusError naming the key and `source`.
 */
export function mergeAlphaEditHparams(base: AlphaEditHparams, raw: Record<string, unknown>, source = 'hparams'): { hparams: AlphaEditHparams; notes: string[] } {
  return mergeHparams(base, raw, ALPHAEDIT_SPEC, source);
}
