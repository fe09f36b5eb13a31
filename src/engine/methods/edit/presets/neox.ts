/**
 * GPT-NeoX-20B's hparams: ROME's from the MEMIT authors' repository (kmeng01/memit hparams/ROME/
 * EleutherAI_gpt-neox-20b.json, checked against its history); MEMIT's from JoveReCode/OrthoEdit
 * hparams/MEMIT/EleutherAI_gpt-neox-20b.json, a fork of kmeng01/memit — upstream's hparams/MEMIT holds
 * only gpt2-xl and GPT-J in every commit, so the source names the fork.
 * 44 layers: v_loss_layer 43.
 */
import type { MemitHparams } from '../../memit/hparams';
import { MEMIT_GPT2_XL } from '../../memit/hparams';
import type { RomeHparams } from '../../rome/hparams';
import { ROME_GPT2_XL } from '../../rome/hparams';

/** ROME: layer 15 of 44, the GPT-2 XL value optimisation (20 steps, lr 0.5, decay 0.5, clamp 4), with C. */
export const ROME_NEOX_20B: RomeHparams = {
  ...ROME_GPT2_XL,
  layers: [15],
  v_num_grad_steps: 20,
  v_lr: 0.5,
  v_loss_layer: 43,
  v_weight_decay: 0.5,
  clamp_norm_factor: 4,
  kl_factor: 0.0625,
  mom2_adjustment: true,
  mom2_n_samples: 100000,
};

/** MEMIT: layers 6–10 of 44, clamp 0.8, 20 steps at lr 0.5, decay 0.5, λ 6000, 50000 statistics samples. */
export const MEMIT_NEOX_20B: MemitHparams = {
  ...MEMIT_GPT2_XL,
  layers: [6, 7, 8, 9, 10],
  clamp_norm_factor: 0.8,
  layer_selection: 'all',
  v_num_grad_steps: 20,
  v_lr: 0.5,
  v_loss_layer: 43,
  v_weight_decay: 0.5,
  kl_factor: 0.0625,
  mom2_adjustment: true,
  mom2_update_weight: 6000,
  mom2_n_samples: 50000,
};
