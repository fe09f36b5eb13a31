import * as fs from 'node:fs';
import { LocusError } from '../../errors';

/**
 * ROME's hyper-parameters with the reference's own snake_case keys (kmeng01/rome hparams/ROME/*.json),
 * so a researcher's files load unchanged. Module-name templates are not needed (the engine names
 * layers canonically) and are accepted and ignored.
 */
export interface RomeHparams {
  layers: number[];
  fact_token: 'subject_last' | 'subject_first' | 'subject_first_after_last' | 'last';
  v_num_grad_steps: number;
  v_lr: number;
  v_loss_layer: number;
  v_weight_decay: number;
  clamp_norm_factor: number;
  kl_factor: number;
  mom2_adjustment: boolean;
  context_template_length_params: Array<[number, number]>;
  mom2_dataset: string;
  mom2_n_samples: number;
  mom2_dtype: string;
}

/** ROME's gpt2-xl.json (layer 17 of 48). */
export const ROME_GPT2_XL: RomeHparams = {
  layers: [17],
  fact_token: 'subject_last',
  v_num_grad_steps: 20,
  v_lr: 0.5,
  v_loss_layer: 47,
  v_weight_decay: 0.5,
  clamp_norm_factor: 4,
  kl_factor: 0.0625,
  mom2_adjustment: true,
  context_template_length_params: [[5, 10], [10, 10]],
  mom2_dataset: 'wikipedia',
  mom2_n_samples: 100000,
  mom2_dtype: 'float32',
};

/** ROME's EleutherAI_gpt-j-6B.json (layer 5 of 28). */
export const ROME_GPT_J: RomeHparams = { ...ROME_GPT2_XL, layers: [5], v_loss_layer: 27, v_lr: 0.5, clamp_norm_factor: 4, v_weight_decay: 0.5 };

const NUMERIC_KEYS = ['v_num_grad_steps', 'v_lr', 'v_loss_layer', 'v_weight_decay', 'clamp_norm_factor', 'kl_factor', 'mom2_n_samples'] as const;
const IGNORED = /_module(_tmp)?$|^mom2_dataset$|^mom2_dtype$/;

/** Overrides `base` with a reference-style hparams object; returns notes for keys that do not apply. */
export function mergeRomeHparams(base: RomeHparams, raw: Record<string, unknown>, source = 'hparams'): { hparams: RomeHparams; notes: string[] } {
  const h: RomeHparams = { ...base };
  const notes: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    if ((NUMERIC_KEYS as readonly string[]).includes(k)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new LocusError('bad-config', `${source}: "${k}" must be a number`);
      (h as unknown as Record<string, number>)[k] = v;
    } else if (k === 'layers') {
      if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) throw new LocusError('bad-config', `${source}: "layers" must be a list of layer indices`);
      h.layers = v as number[];
    } else if (k === 'fact_token') {
      if (!['subject_last', 'subject_first', 'subject_first_after_last', 'last'].includes(v as string)) throw new LocusError('bad-config', `${source}: fact_token ${JSON.stringify(v)} is not supported`);
      h.fact_token = v as RomeHparams['fact_token'];
    } else if (k === 'mom2_adjustment') {
      h.mom2_adjustment = v === true;
    } else if (k === 'context_template_length_params') {
      h.context_template_length_params = v as Array<[number, number]>;
    } else if (IGNORED.test(k)) {
      notes.push(`${source}: "${k}" is ignored (the engine names modules itself; statistics come from --stats-corpus)`);
    } else {
      notes.push(`${source}: unknown key "${k}" ignored`);
    }
  }
  return { hparams: h, notes };
}

export function readHparamsFile(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new LocusError('not-found', `hparams file ${file} does not exist`);
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new LocusError('bad-config', `${file} is not a JSON object of hyper-parameters (${(e as Error).message})`);
  }
}
