import { LocusError } from '../../errors';
import type { KeyRule, MergeSpec } from '../edit/hparamValues';
import { int, layerList, mergeHparams, num } from '../edit/hparamValues';

/**
 * Constrained fine-tuning's hyper-parameters with the reference's own snake_case keys
 * (google/belief-localization third_party/baselines/ft/ft_hparams.py FTHyperParams,
 * hparams/FT/*_constr.json), so a researcher's files load unchanged. Module-name templates are
 * not needed (the engine names parameters canonically) and are accepted and ignored.
 */
export interface FtHparams {
  /** 0-based layers whose mlp.W_out / mlp.b_out (HF mlp.c_proj / mlp.fc_out weight and bias) are tuned. */
  layers: number[];
  /** Epochs (each one pass over the requests in chunks of batch_size). */
  num_steps: number;
  lr: number;
  /** torch.optim.Adam's L2 weight decay (added to the gradient, not decoupled). */
  weight_decay: number;
  /** Accepted and unused: the reference's execute_ft has no KL term (seed-paper.md §3.4). */
  kl_factor: number;
  /** ε of the L∞ box: every element stays within original ± ε (clamped after every step). */
  norm_constraint: number;
  /** FTHyperParams' dataclass default. */
  batch_size: number;
}

/**
 * hparams/FT/gpt2-xl_constr.json. The driver (experiments/evaluate.py get_override_hparams) always
 * overrides `layers` with the window and `norm_constraint` with the problem's ε (seed-paper.md §3.5).
 */
export const FT_GPT2_XL: FtHparams = {
  layers: [0],
  num_steps: 25,
  lr: 5e-4,
  weight_decay: 0,
  kl_factor: 0,
  norm_constraint: 5e-4,
  batch_size: 128,
};

/** hparams/FT/EleutherAI_gpt-j-6B_constr.json (the seed paper's GPT-J setting). */
export const FT_GPT_J: FtHparams = { ...FT_GPT2_XL, norm_constraint: 5e-5 };

/** FT's layer -1 (the subject's token embeddings) gets its own sentence: the reference supports it, Locus does not. */
const ftLayers: KeyRule = (v, key, source) => {
  if (Array.isArray(v) && v.includes(-1)) {
    throw new LocusError('bad-config', `${source}: layer -1 (tuning the subject's token embeddings, FT_subj_embeds) is not supported; give block indices ≥ 0`);
  }
  return layerList(v, key, source);
};

export const FT_SPEC: MergeSpec = {
  rules: {
    layers: ftLayers,
    num_steps: int(1),
    batch_size: int(1),
    lr: num(true),
    norm_constraint: num(true),
    weight_decay: num(false),
    kl_factor: num(false),
  },
  ignored: [
    { key: /_module(_tmp)?$/, note: 'the engine names modules itself' },
    { key: /^FT_subj_embeds$/, note: 'it only matters for layer -1, embedding fine-tuning, which is not supported' },
    { key: /^editing_noise$/, note: "it is Fact Forcing's subject noise, which constrained fine-tuning here does not apply" },
  ],
  notes: (h, _raw, source) => (h['kl_factor'] !== 0 ? [`${source}: kl_factor ${String(h['kl_factor'])} has no effect: the reference's fine-tuning (ft_main.py execute_ft) has no KL term`] : []),
};

/**
 * Overrides `base` with a reference-style hparams object; returns notes for keys that do not apply.
 * A value of the wrong type or range is a LocusError naming the key and `source` (the file).
 */
export function mergeFtHparams(base: FtHparams, raw: Record<string, unknown>, source = 'hparams'): { hparams: FtHparams; notes: string[] } {
  return mergeHparams(base, raw, FT_SPEC, source);
}

/**
 * The layers of a window of `size` around `layer`, clipped to the model: max(0, L − ⌊w/2⌋) …
 * min(n_layers, L + ⌈w/2⌉) − 1 (experiments/evaluate.py get_override_hparams; seed-paper.md §3.3).
 * Window 1 → [L]; window 5 → L−2 … L+2 (layer 0 → 0, 1, 2).
 */
export function ftWindow(layer: number, size: number, nLayers: number): number[] {
  if (!Number.isInteger(nLayers) || nLayers < 1) throw new LocusError('bad-input', `the model has ${nLayers} layers`);
  if (!Number.isInteger(layer) || layer < 0 || layer >= nLayers) throw new LocusError('bad-input', `layer ${layer} is outside 0..${nLayers - 1}`);
  if (!Number.isInteger(size) || size < 1) throw new LocusError('bad-input', `window size ${size} must be a positive integer`);
  const lo = Math.max(0, layer - Math.floor(size / 2));
  const hi = Math.min(nLayers, layer + Math.ceil(size / 2));
  return Array.from({ length: hi - lo }, (_, i) => lo + i);
}
