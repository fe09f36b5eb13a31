/**
 * ROME and MEMIT hparams published for Llama, Mistral and Qwen by EasyEdit (zjunlp/EasyEdit
 * hparams/ROME/*.yaml, hparams/MEMIT/*.yaml) and for Llama-3-8B's MEMIT by AlphaEdit
 * (jianghoucheng/AlphaEdit hparams/MEMIT/Llama3-8B.json, the MEMIT baseline of that paper).
 * Numbers only; module-name templates are not needed (the engine names layers itself).
 */
import type { MemitHparams } from '../../memit/hparams';
import { MEMIT_GPT2_XL } from '../../memit/hparams';
import type { RomeHparams } from '../../rome/hparams';
import { ROME_GPT2_XL } from '../../rome/hparams';

/**
 * EasyEdit's ROME file for a 32-layer 7B model (llama-7b.yaml = Llama-2-7B, llama3-8b.yaml,
 * mistral-7b.yaml hold the same numbers): layer 5, 25 v steps at lr 0.5, weight decay 1e-3,
 * clamp 4, KL 0.0625, and no second-moment adjustment (mom2_adjustment false).
 */
const EASYEDIT_ROME_7B: RomeHparams = {
  ...ROME_GPT2_XL,
  layers: [5],
  fact_token: 'subject_last',
  v_num_grad_steps: 25,
  v_lr: 0.5,
  v_loss_layer: 31,
  v_weight_decay: 1e-3,
  clamp_norm_factor: 4,
  kl_factor: 0.0625,
  mom2_adjustment: false,
  context_template_length_params: [[5, 10], [10, 10]],
  mom2_dataset: 'wikipedia',
  mom2_n_samples: 100000,
  mom2_dtype: 'float32',
};

/** EasyEdit hparams/ROME/llama-7b.yaml (model_name llama-2-7b; 32 layers). */
export const ROME_LLAMA2_7B: RomeHparams = EASYEDIT_ROME_7B;
/** EasyEdit hparams/ROME/llama3-8b.yaml (32 layers). */
export const ROME_LLAMA3_8B: RomeHparams = EASYEDIT_ROME_7B;
/** EasyEdit hparams/ROME/mistral-7b.yaml (Mistral-7B-v0.1; 32 layers). */
export const ROME_MISTRAL_7B: RomeHparams = EASYEDIT_ROME_7B;
/** EasyEdit hparams/ROME/qwen2.5-7b.yaml (28 layers: v_loss_layer 27). */
export const ROME_QWEN25_7B: RomeHparams = { ...EASYEDIT_ROME_7B, v_loss_layer: 27 };
/**
 * EasyEdit hparams/ROME/llama3.2-1b.yaml and llama3.2-3b.yaml: layer 5 and the 7B numbers; the
 * files' v_loss_layer (27 and 31) lies past these models' last block (15 and 27), so the last block
 * is used, as in every other file (v_loss_layer = n_layers − 1).
 */
export const ROME_LLAMA32_SMALL: RomeHparams = EASYEDIT_ROME_7B;

/**
 * EasyEdit's MEMIT file for a 32-layer 7B model (llama-7b.yaml, mistral-7b.yaml): layers 4–8,
 * clamp 4, 25 v steps at lr 0.5, weight decay 1e-3, KL 0.0625, λ 15000.
 */
const EASYEDIT_MEMIT_7B: MemitHparams = {
  ...MEMIT_GPT2_XL,
  layers: [4, 5, 6, 7, 8],
  clamp_norm_factor: 4,
  layer_selection: 'all',
  fact_token: 'subject_last',
  v_num_grad_steps: 25,
  v_lr: 0.5,
  v_loss_layer: 31,
  v_weight_decay: 1e-3,
  kl_factor: 0.0625,
  mom2_adjustment: true,
  mom2_update_weight: 15000,
  mom2_dataset: 'wikipedia',
  mom2_n_samples: 100000,
  mom2_dtype: 'float32',
};

/** EasyEdit hparams/MEMIT/llama-7b.yaml (llama-2-7b). */
export const MEMIT_LLAMA2_7B: MemitHparams = EASYEDIT_MEMIT_7B;
/** EasyEdit hparams/MEMIT/mistral-7b.yaml. */
export const MEMIT_MISTRAL_7B: MemitHparams = EASYEDIT_MEMIT_7B;
/** EasyEdit hparams/MEMIT/qwen2.5-7b.yaml (28 layers: v_loss_layer 27). */
export const MEMIT_QWEN25_7B: MemitHparams = { ...EASYEDIT_MEMIT_7B, v_loss_layer: 27 };
/** EasyEdit hparams/MEMIT/llama3.2-1b.yaml and llama3.2-3b.yaml (v_loss_layer 27 in both files; the last block is used). */
export const MEMIT_LLAMA32_SMALL: MemitHparams = EASYEDIT_MEMIT_7B;
/**
 * AlphaEdit hparams/MEMIT/Llama3-8B.json (EasyEdit ships no MEMIT file for Llama-3-8B): layers 4–8,
 * clamp 0.75, 25 v steps at lr 0.1, weight decay 0.5, KL 0.0625, λ 15000.
 */
export const MEMIT_LLAMA3_8B: MemitHparams = { ...EASYEDIT_MEMIT_7B, clamp_norm_factor: 0.75, v_lr: 0.1, v_weight_decay: 0.5 };
