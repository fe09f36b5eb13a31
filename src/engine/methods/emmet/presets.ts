/**
 * EMMET's defaults for a model: unified-model-editing's own files where it publishes one (GPT-2 XL,
 * GPT-J 6B, Llama-2-7B), otherwise MEMIT's preset for the model (edit/presets/choosePreset.ts) with
 * μ = emmet_lambda 0.1 and λ = MEMIT's λ / μ: for a batch EMMET(λ, μ) is exactly MEMIT(λμ) (Woodbury;
 * golden/README.md emmet_*.json), so a batch edits as the MEMIT preset does and a single edit meets its
 * constraint exactly.
 */
import type { ModelConfig } from '../../model/config';
import { presetModel } from '../../model/arch/families';
import { memitPresetFor } from '../edit/presets/choosePreset';
import type { Preset } from '../edit/presets/types';
import type { EmmetHparams } from './hparams';
import { EMMET_GPT2_XL, EMMET_GPT_J, EMMET_LLAMA2_7B } from './hparams';

const REPO = 'scalable-model-editing/unified-model-editing';
const PUBLISHED: Partial<Record<string, { readonly hparams: EmmetHparams; readonly file: string }>> = {
  'gpt2-xl': { hparams: EMMET_GPT2_XL, file: 'hparams/EMMET/gpt2-xl.json' },
  'gpt-j-6b': { hparams: EMMET_GPT_J, file: 'hparams/EMMET/EleutherAI_gpt-j-6B.json' },
  'llama-2-7b': { hparams: EMMET_LLAMA2_7B, file: 'hparams/EMMET/llama2-7b.json' },
};

const MU = EMMET_GPT2_XL.emmet_lambda;

export function emmetPresetFor(cfg: ModelConfig): Preset<EmmetHparams> {
  const model = presetModel(cfg);
  const published = model === undefined ? undefined : PUBLISHED[model];
  if (published) return { hparams: { ...published.hparams, v_loss_layer: cfg.n_layers - 1 }, source: `${REPO} ${published.file}` };
  const memit = memitPresetFor(cfg);
  const hparams: EmmetHparams = { ...memit.hparams, mom2_update_weight: memit.hparams.mom2_update_weight / MU, emmet_lambda: MU, update_norm_lambda: 0, calculate_objective_value: false, prob_cutoff: 0 };
  return { hparams, source: `${memit.source}, as EMMET: emmet_lambda ${MU} and mom2_update_weight = MEMIT's / ${MU} (a batch then edits as MEMIT's)` };
}
