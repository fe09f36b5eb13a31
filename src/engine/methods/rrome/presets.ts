/**
 * r-ROME's defaults for a model: rebuilding-rome's own files where it publishes one (GPT-2 XL, GPT-J 6B,
 * Llama-2-7B), otherwise ROME's preset for the model (edit/presets/choosePreset.ts) with r-ROME's key
 * flags: the authors change only which keys the update uses, never ROME's other hparams.
 */
import type { ModelConfig } from '../../model/config';
import { presetModel } from '../../model/arch/families';
import { romePresetFor } from '../edit/presets/choosePreset';
import type { Preset } from '../edit/presets/types';
import type { RromeHparams } from './hparams';
import { R_ROME_FLAGS, RROME_GPT2_XL, RROME_GPT_J, RROME_LLAMA2_7B } from './hparams';

const REPO = 'scalable-model-editing/rebuilding-rome';
const PUBLISHED: Partial<Record<string, { readonly hparams: RromeHparams; readonly file: string }>> = {
  'gpt2-xl': { hparams: RROME_GPT2_XL, file: 'hparams/ROME/gpt2-xl.json' },
  'gpt-j-6b': { hparams: RROME_GPT_J, file: 'hparams/ROME/EleutherAI_gpt-j-6B.json' },
  'llama-2-7b': { hparams: RROME_LLAMA2_7B, file: 'hparams/ROME/llama2-7b.json' },
};

export function rromePresetFor(cfg: ModelConfig): Preset<RromeHparams> {
  const model = presetModel(cfg);
  const published = model === undefined ? undefined : PUBLISHED[model];
  // As ROME's presets: the loss at the last block (the files name their model's own last or a lower one).
  if (published) return { hparams: { ...published.hparams, v_loss_layer: cfg.n_layers - 1 }, source: `${REPO} ${published.file}` };
  const rome = romePresetFor(cfg);
  return { hparams: { ...rome.hparams, ...R_ROME_FLAGS }, source: `${rome.source}, with r-ROME's key flags (${REPO})` };
}
