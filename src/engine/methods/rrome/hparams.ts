import { LocusError } from '../../errors';
import type { MergeSpec } from '../edit/hparamValues';
import { bool, mergeHparams } from '../edit/hparamValues';
import type { RomeHparams } from '../rome/hparams';
import { ROME_GPT2_XL, ROME_GPT_J, ROME_SPEC } from '../rome/hparams';
import type { RomeKeyChoice } from '../rome/index';

/**
 * r-ROME's hyper-parameters: ROME's with the three key flags of rebuilding-rome's ROMEHyperParams
 * (scalable-model-editing/rebuilding-rome rome/rome_hparams.py), in the authors' snake_case.
 * - `enable_random_prefix_keys`: u and the update both use the keys averaged over the context templates (r-ROME).
 * - `enable_prompt_keys`: u and the update both use the bare prompt's key (p-ROME).
 * - `original_implementation`: u from the template mean, the update from the prompt (ROME as kmeng01/rome runs it).
 */
export interface RromeHparams extends RomeHparams {
  original_implementation: boolean;
  enable_random_prefix_keys: boolean;
  enable_prompt_keys: boolean;
}

/** The r-ROME setting (the golden's flags; the dataclass defaults of rebuilding-rome give this update). */
export const R_ROME_FLAGS = { original_implementation: false, enable_random_prefix_keys: true, enable_prompt_keys: false } as const;

/**
 * rebuilding-rome hparams/ROME/gpt2-xl.json (layer 17, v_num_grad_steps 20, clamp 4, wd 0.5: the same
 * numbers as kmeng01/rome's file) with the r-ROME flags.
 */
export const RROME_GPT2_XL: RromeHparams = { ...ROME_GPT2_XL, ...R_ROME_FLAGS };

/** rebuilding-rome hparams/ROME/EleutherAI_gpt-j-6B.json (layer 5, v_loss_layer 27) with the r-ROME flags. */
export const RROME_GPT_J: RromeHparams = { ...ROME_GPT_J, ...R_ROME_FLAGS };

/** rebuilding-rome hparams/ROME/llama2-7b.json (layer 5, 25 steps; its v_loss_layer 27 is below the last block, presets use the last). */
export const RROME_LLAMA2_7B: RromeHparams = { ...RROME_GPT2_XL, layers: [5], v_num_grad_steps: 25, v_loss_layer: 31 };

/** Keys of rebuilding-rome's files that its ROME code never reads. */
const UNUSED = /^(bias_update|dynamic|dynamic_multiplier)$/;

/** ROME's keys plus the three flags; the flags are checked as rebuilding-rome asserts them (rromeKeys) right after the merge. */
export const RROME_SPEC: MergeSpec = {
  rules: { ...ROME_SPEC.rules, original_implementation: bool, enable_random_prefix_keys: bool, enable_prompt_keys: bool },
  ignored: [...ROME_SPEC.ignored, { key: UNUSED, note: "rebuilding-rome's ROME never reads it" }],
  notes: (merged, _raw, source) => {
    // Checked once both flags are known (a raw file checked without its preset may hold neither).
    if (typeof merged['enable_prompt_keys'] === 'boolean' && typeof merged['enable_random_prefix_keys'] === 'boolean') rromeKeys(merged as unknown as RromeHparams, source);
    return [];
  },
};

/** Overrides `base` with a reference-style hparams object (ROME's keys plus the three flags); notes for keys that do not apply. */
export function mergeRromeHparams(base: RromeHparams, raw: Record<string, unknown>, source = 'hparams'): { hparams: RromeHparams; notes: string[] } {
  return mergeHparams(base, raw, RROME_SPEC, source);
}

/**
 * Which keys u and the update use, from the flags as rebuilding-rome reads them: compute_u averages over the
 * templates when original_implementation or enable_random_prefix_keys, compute_v averages when
 * enable_random_prefix_keys. apply_rome_to_model asserts that exactly one of the two key flags is on.
 */
export function rromeKeys(h: RromeHparams, source = 'hparams'): RomeKeyChoice {
  if (h.enable_prompt_keys === h.enable_random_prefix_keys) {
    throw new LocusError('bad-config', `${source}: exactly one of "enable_prompt_keys" and "enable_random_prefix_keys" must be true (got ${h.enable_prompt_keys} and ${h.enable_random_prefix_keys})`);
  }
  if (h.fact_token === 'last' && h.enable_prompt_keys) {
    throw new LocusError('bad-config', `${source}: fact_token "last" is not supported with enable_prompt_keys (the reference raises on it)`);
  }
  return { u: h.original_implementation || h.enable_random_prefix_keys ? 'templates' : 'prompt', update: h.enable_random_prefix_keys ? 'templates' : 'prompt' };
}
