import { LocusError } from '../../errors';
import { readJsonObject } from '../../files/read';
import type { KeyRule, MergeSpec } from '../edit/hparamValues';
import { bool, int, layerList, mergeHparams, num, oneOf } from '../edit/hparamValues';

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

/** Templates sampled per (length, count) pair: far above the reference's [[5, 10], [10, 10]], below a runaway. */
const MAX_TEMPLATE_PARAM = 1000;

const templateLengths: KeyRule = (v, key, source) => {
  const pair = (x: unknown): boolean => Array.isArray(x) && x.length === 2 && x.every((n) => Number.isSafeInteger(n) && n >= 1 && n <= MAX_TEMPLATE_PARAM);
  if (!Array.isArray(v) || !v.every(pair)) throw new LocusError('bad-config', `${source}: "${key}" must be a list of [length, count] pairs of integers from 1 to ${MAX_TEMPLATE_PARAM} (got ${JSON.stringify(v)})`);
  return (v as Array<[number, number]>).map(([a, b]) => [a, b] as [number, number]);
};

export const FACT_TOKENS: ReadonlyArray<RomeHparams['fact_token']> = ['subject_last', 'subject_first', 'subject_first_after_last', 'last'];

/** The keys ROME and MEMIT share (the value optimisation and the statistics), with their checks. */
export const SHARED_RULES: Readonly<Record<string, KeyRule>> = {
  layers: layerList,
  fact_token: oneOf(FACT_TOKENS),
  v_num_grad_steps: int(1),
  v_lr: num(true),
  v_loss_layer: int(0),
  v_weight_decay: num(false),
  clamp_norm_factor: num(true),
  kl_factor: num(false),
  mom2_adjustment: bool,
  mom2_n_samples: int(1),
};

/** Module-name templates (the engine names layers itself) and the statistics' source (--stats-corpus chooses it). */
export const SHARED_IGNORED = [{ key: /_module(_tmp)?$|^mom2_dataset$|^mom2_dtype$/, note: 'the engine names modules itself; statistics come from --stats-corpus' }];

export const ROME_SPEC: MergeSpec = { rules: { ...SHARED_RULES, context_template_length_params: templateLengths }, ignored: SHARED_IGNORED };

/**
 * Overrides `base` with a reference-style hparams object; returns notes for keys that do not apply.
 * A value of the wrong type or range is a LocusError naming the key and `source` (the file).
 */
export function mergeRomeHparams(base: RomeHparams, raw: Record<string, unknown>, source = 'hparams'): { hparams: RomeHparams; notes: string[] } {
  return mergeHparams(base, raw, ROME_SPEC, source);
}

/** Reads a reference-style hparams file (BOM allowed); anything but a JSON object is a LocusError. */
export function readHparamsFile(file: string): Record<string, unknown> {
  return readJsonObject(file, 'hparams file');
}
