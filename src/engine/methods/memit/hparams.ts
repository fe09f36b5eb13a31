import { LocusError } from '../../errors';
import type { RomeHparams } from '../rome/hparams';

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

const NUMERIC_KEYS = ['v_num_grad_steps', 'v_lr', 'v_loss_layer', 'v_weight_decay', 'clamp_norm_factor', 'kl_factor', 'mom2_update_weight', 'mom2_n_samples'] as const;
const FACT_TOKENS: ReadonlyArray<MemitHparams['fact_token']> = ['subject_last', 'subject_first', 'subject_first_after_last', 'last'];
const IGNORED = /_module(_tmp)?$|^mom2_dataset$|^mom2_dtype$/;

/** Overrides `base` with a reference-style hparams object; returns notes for keys that do not apply. */
export function mergeMemitHparams(base: MemitHparams, raw: Record<string, unknown>, source = 'hparams'): { hparams: MemitHparams; notes: string[] } {
  const h: MemitHparams = { ...base, layers: [...base.layers] };
  const notes: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    if ((NUMERIC_KEYS as readonly string[]).includes(k)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new LocusError('bad-config', `${source}: "${k}" must be a number`);
      (h as unknown as Record<string, number>)[k] = v;
    } else if (k === 'layers') {
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x >= 0)) throw new LocusError('bad-config', `${source}: "layers" must be a non-empty list of layer indices`);
      h.layers = [...(v as number[])];
    } else if (k === 'fact_token') {
      if (!FACT_TOKENS.includes(v as MemitHparams['fact_token'])) throw new LocusError('bad-config', `${source}: fact_token ${JSON.stringify(v)} is not supported`);
      h.fact_token = v as MemitHparams['fact_token'];
    } else if (k === 'layer_selection') {
      if (v !== 'all' && v !== 'random') throw new LocusError('bad-config', `${source}: layer_selection must be "all" or "random"`);
      h.layer_selection = v;
      // The reference declares it but execute_memit never reads it: every layer in `layers` is edited.
      if (v === 'random') notes.push(`${source}: layer_selection "random" has no effect (MEMIT edits every layer in "layers")`);
    } else if (k === 'mom2_adjustment') {
      h.mom2_adjustment = v === true;
    } else if (IGNORED.test(k)) {
      notes.push(`${source}: "${k}" is ignored (the engine names modules itself; statistics come from --stats-corpus)`);
    } else {
      notes.push(`${source}: unknown key "${k}" ignored`);
    }
  }
  return { hparams: h, notes };
}
