/**
 * AlphaEdit's defaults for a model: the authors' own files where they publish one (jianghoucheng/AlphaEdit
 * hparams/AlphaEdit/{gpt2-xl, EleutherAI_gpt-j-6B, Llama3-8B}.json, read at @110e051), otherwise MEMIT's
 * preset for the model (edit/presets/choosePreset.ts: AlphaEdit's z, keys and layer window are MEMIT's)
 * with the files' nullspace_threshold 2e-2 and L2 10 — except below published scale (SMALL_MODEL).
 */
import type { ModelConfig } from '../../model/config';
import { presetModel } from '../../model/arch/families';
import { memitPresetFor } from '../edit/presets/choosePreset';
import type { Preset } from '../edit/presets/types';
import { MIN_SCALED_DEPTH } from '../edit/presets/types';
import type { AlphaEditHparams } from './hparams';
import { ALPHAEDIT_GPT2_XL } from './hparams';

const REPO = 'jianghoucheng/AlphaEdit';

/** hparams/AlphaEdit/EleutherAI_gpt-j-6B.json: MEMIT's GPT-J window 3–8, 25 z steps, λ 15000. */
export const ALPHAEDIT_GPT_J: AlphaEditHparams = { ...ALPHAEDIT_GPT2_XL, layers: [3, 4, 5, 6, 7, 8], v_num_grad_steps: 25, v_loss_layer: 27, mom2_update_weight: 15000 };

/** hparams/AlphaEdit/Llama3-8B.json: layers 4–8, 25 z steps at v_lr 0.1, clamp 0.75, weight decay 0.5 (the paper's Llama3 setting). */
export const ALPHAEDIT_LLAMA3_8B: AlphaEditHparams = { ...ALPHAEDIT_GPT2_XL, layers: [4, 5, 6, 7, 8], v_num_grad_steps: 25, v_lr: 0.1, v_loss_layer: 31, mom2_update_weight: 15000 };

const PUBLISHED: Partial<Record<string, { readonly hparams: AlphaEditHparams; readonly file: string }>> = {
  'gpt2-xl': { hparams: ALPHAEDIT_GPT2_XL, file: 'hparams/AlphaEdit/gpt2-xl.json' },
  'gpt-j-6b': { hparams: ALPHAEDIT_GPT_J, file: 'hparams/AlphaEdit/EleutherAI_gpt-j-6B.json' },
  'llama-3-8b': { hparams: ALPHAEDIT_LLAMA3_8B, file: 'hparams/AlphaEdit/Llama3-8B.json' },
};

/**
 * Below published scale: L2 1, because the files' 10 leaves an edit inert on small models (‖P k‖² of
 * their keys is ~0.4–1.6 ≪ 10: golden/README.md alphaedit_*.json, 3.2e-5 → 3.9e-5 on gpt2-facts-trained,
 * whose golden uses L2 = 1: → 0.40); and nullspace_threshold 0.1, because at 2e-2 the embedded model's
 * layer 0 has no null space at all and layers 1–2 keep 160 / 74 of 640 directions. Measured on the
 * embedded model, one batch of its 8 first known facts (selectKnown; Error Injection, MEMIT's small-model
 * window 0–2, shipped statistics): rewrite / paraphrase / neighborhood 0.18 / 0.25 / 0.99 at 2e-2,
 * 0.65 / 0.51 / 0.97 at 5e-2, 0.74 / 0.61 / 0.97 at 0.1 (null space 98 / 522 / 490 of 640; ‖ΔW‖ 31 / 45 / 52);
 * MEMIT's preset on the same batch 0.72 / 0.60 / 0.96 (‖ΔW‖ 8 / 30 / 401). L2 0.1 or 0.3 did worse.
 */
const SMALL_MODEL = { nullspace_threshold: 0.1, L2: 1 } as const;

export function alphaEditPresetFor(cfg: ModelConfig): Preset<AlphaEditHparams> {
  const model = presetModel(cfg);
  const published = model === undefined ? undefined : PUBLISHED[model];
  if (published) return { hparams: { ...published.hparams, v_loss_layer: cfg.n_layers - 1 }, source: `${REPO} ${published.file}` };
  const memit = memitPresetFor(cfg);
  if (cfg.n_layers < MIN_SCALED_DEPTH) {
    const hparams: AlphaEditHparams = { ...memit.hparams, ...SMALL_MODEL };
    return { hparams, source: `${memit.source}, as AlphaEdit: nullspace_threshold ${SMALL_MODEL.nullspace_threshold} and L2 ${SMALL_MODEL.L2} (measured on the embedded model; ${REPO}'s files hold 2e-2 and 10, which leave a small model's edit weak or inert)` };
  }
  const hparams: AlphaEditHparams = { ...memit.hparams, nullspace_threshold: ALPHAEDIT_GPT2_XL.nullspace_threshold, L2: ALPHAEDIT_GPT2_XL.L2 };
  return { hparams, source: `${memit.source}, as AlphaEdit: nullspace_threshold 2e-2 and L2 10 from ${REPO} hparams/AlphaEdit/*.json` };
}
