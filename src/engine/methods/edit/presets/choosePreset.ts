/**
 * Which ROME / MEMIT / FT defaults a model gets, and the source each names (issue 16 item 5): the
 * published hparams of a model of the same family and shape (model/arch/families.ts presetModel);
 * for the same family at another depth, the edited layers moved to the same relative depth with the
 * other values kept; otherwise the small-model presets.
 */
import type { ModelConfig, ModelType } from '../../../model/config';
import { presetModel } from '../../../model/arch/families';
import type { PresetModel } from '../../../model/arch/families';
import type { FtHparams } from '../../finetune/index';
import { FT_GPT2_XL, FT_GPT_J, ftWindow } from '../../finetune/index';
import type { MemitHparams } from '../../memit/hparams';
import { MEMIT_GPT2_XL, MEMIT_GPT_J } from '../../memit/hparams';
import type { RomeHparams } from '../../rome/hparams';
import { ROME_GPT2_XL, ROME_GPT_J } from '../../rome/hparams';
import {
  MEMIT_LLAMA2_7B,
  MEMIT_LLAMA32_SMALL,
  MEMIT_LLAMA3_8B,
  MEMIT_MISTRAL_7B,
  MEMIT_QWEN25_7B,
  ROME_LLAMA2_7B,
  ROME_LLAMA32_SMALL,
  ROME_LLAMA3_8B,
  ROME_MISTRAL_7B,
  ROME_QWEN25_7B,
} from './easyEdit';
import { MEMIT_NEOX_20B, ROME_NEOX_20B } from './neox';
import { FT_SMALL_MODEL, SMALL_MODEL_SOURCE, smallModelMemit, smallModelRome } from './smallModel';
import type { Preset } from './types';
import { MIN_SCALED_DEPTH, scaledSource, scaleLayer } from './types';

interface Published {
  readonly rome: RomeHparams;
  readonly memit: MemitHparams;
  readonly romeSource: string;
  readonly memitSource: string;
}

const EASYEDIT = 'zjunlp/EasyEdit';
const LLAMA32_NOTE = "; v_loss_layer set to the last block (the file's lies past this model's depth)";

/** Every published shape (GPT-2 XL and GPT-J 6B keep the reference's own files). */
const PUBLISHED: Readonly<Record<Exclude<PresetModel, 'gptj-family'>, Published>> = {
  'gpt2-xl': { rome: ROME_GPT2_XL, memit: MEMIT_GPT2_XL, romeSource: 'kmeng01/rome hparams/ROME/gpt2-xl.json', memitSource: 'kmeng01/memit hparams/MEMIT/gpt2-xl.json' },
  'gpt-j-6b': { rome: ROME_GPT_J, memit: MEMIT_GPT_J, romeSource: 'kmeng01/rome hparams/ROME/EleutherAI_gpt-j-6B.json', memitSource: 'kmeng01/memit hparams/MEMIT/EleutherAI_gpt-j-6B.json' },
  'llama-2-7b': { rome: ROME_LLAMA2_7B, memit: MEMIT_LLAMA2_7B, romeSource: `${EASYEDIT} hparams/ROME/llama-7b.yaml (Llama-2-7B)`, memitSource: `${EASYEDIT} hparams/MEMIT/llama-7b.yaml (Llama-2-7B)` },
  'llama-3-8b': { rome: ROME_LLAMA3_8B, memit: MEMIT_LLAMA3_8B, romeSource: `${EASYEDIT} hparams/ROME/llama3-8b.yaml (Llama-3-8B)`, memitSource: 'jianghoucheng/AlphaEdit hparams/MEMIT/Llama3-8B.json (Llama-3-8B)' },
  'llama-3.2-1b': { rome: ROME_LLAMA32_SMALL, memit: MEMIT_LLAMA32_SMALL, romeSource: `${EASYEDIT} hparams/ROME/llama3.2-1b.yaml (Llama-3.2-1B)${LLAMA32_NOTE}`, memitSource: `${EASYEDIT} hparams/MEMIT/llama3.2-1b.yaml (Llama-3.2-1B)${LLAMA32_NOTE}` },
  'llama-3.2-3b': { rome: ROME_LLAMA32_SMALL, memit: MEMIT_LLAMA32_SMALL, romeSource: `${EASYEDIT} hparams/ROME/llama3.2-3b.yaml (Llama-3.2-3B)${LLAMA32_NOTE}`, memitSource: `${EASYEDIT} hparams/MEMIT/llama3.2-3b.yaml (Llama-3.2-3B)` },
  'mistral-7b': { rome: ROME_MISTRAL_7B, memit: MEMIT_MISTRAL_7B, romeSource: `${EASYEDIT} hparams/ROME/mistral-7b.yaml (Mistral-7B-v0.1)`, memitSource: `${EASYEDIT} hparams/MEMIT/mistral-7b.yaml (Mistral-7B-v0.1)` },
  'qwen2.5-7b': { rome: ROME_QWEN25_7B, memit: MEMIT_QWEN25_7B, romeSource: `${EASYEDIT} hparams/ROME/qwen2.5-7b.yaml (Qwen2.5-7B)`, memitSource: `${EASYEDIT} hparams/MEMIT/qwen2.5-7b.yaml (Qwen2.5-7B)` },
  'gpt-neox-20b': { rome: ROME_NEOX_20B, memit: MEMIT_NEOX_20B, romeSource: 'kmeng01/memit hparams/ROME/EleutherAI_gpt-neox-20b.json (GPT-NeoX-20B)', memitSource: 'JoveReCode/OrthoEdit hparams/MEMIT/EleutherAI_gpt-neox-20b.json (GPT-NeoX-20B; a kmeng01/memit fork: upstream ships no MEMIT NeoX file)' },
};

/**
 * The published shape each family scales from at other depths (≥ MIN_SCALED_DEPTH layers). Qwen3
 * shares Qwen2's block but for q/k norms; EasyEdit ships no ROME/MEMIT hparams for Gemma, whose
 * gated-MLP decoder scales from Llama-2-7B's.
 */
const SCALES_FROM: Partial<Readonly<Record<ModelType, { readonly model: keyof typeof PUBLISHED; readonly layers: number }>>> = {
  llama: { model: 'llama-2-7b', layers: 32 },
  mistral: { model: 'mistral-7b', layers: 32 },
  qwen2: { model: 'qwen2.5-7b', layers: 28 },
  qwen3: { model: 'qwen2.5-7b', layers: 28 },
  gemma: { model: 'llama-2-7b', layers: 32 },
  gpt_neox: { model: 'gpt-neox-20b', layers: 44 },
};

function scaleBase(cfg: ModelConfig): { base: Published; fromLayers: number } | undefined {
  const from = SCALES_FROM[cfg.modelType];
  if (!from || cfg.n_layers < MIN_SCALED_DEPTH) return undefined;
  return { base: PUBLISHED[from.model], fromLayers: from.layers };
}

const publishedFor = (cfg: ModelConfig): Published | undefined => {
  const m = presetModel(cfg);
  return m === undefined || m === 'gptj-family' ? undefined : PUBLISHED[m];
};

/** ROME's defaults for a model of this config. */
export function romePresetFor(cfg: ModelConfig): Preset<RomeHparams> {
  const L = cfg.n_layers;
  const published = publishedFor(cfg);
  if (published) return { hparams: { ...published.rome, v_loss_layer: L - 1 }, source: published.romeSource };
  const scaled = scaleBase(cfg);
  if (scaled) {
    const { base, fromLayers } = scaled;
    const hparams = { ...base.rome, layers: base.rome.layers.map((l) => scaleLayer(l, fromLayers, L)), v_loss_layer: L - 1 };
    return { hparams, source: scaledSource(base.romeSource, fromLayers, L) };
  }
  return { hparams: smallModelRome(L), source: SMALL_MODEL_SOURCE };
}

/** MEMIT's defaults: a published window, or the published window's centre moved by depth with its width kept. */
export function memitPresetFor(cfg: ModelConfig): Preset<MemitHparams> {
  const L = cfg.n_layers;
  const published = publishedFor(cfg);
  if (published) return { hparams: { ...published.memit, v_loss_layer: L - 1 }, source: published.memitSource };
  const scaled = scaleBase(cfg);
  if (scaled) {
    const { base, fromLayers } = scaled;
    const window = base.memit.layers;
    const centre = scaleLayer(window[Math.floor(window.length / 2)], fromLayers, L);
    const hparams = { ...base.memit, layers: ftWindow(centre, window.length, L), v_loss_layer: L - 1 };
    return { hparams, source: scaledSource(base.memitSource, fromLayers, L) };
  }
  return { hparams: smallModelMemit(L), source: SMALL_MODEL_SOURCE };
}

const FT_GPT2_XL_SOURCE = 'hparams/FT/gpt2-xl_constr.json (kmeng01/rome; copy in zjunlp/EasyEdit)';

/**
 * Constrained fine-tuning (the seed paper's FT-1/FT-5, centred on ROME's layer): GPT-J's ε for GPT-J,
 * gpt2-xl_constr for deep models. EasyEdit's FT files for Llama/Mistral/Qwen use the same lr 5e-4,
 * 25 steps and weight decay 0 but no ε (FT-L, norm_constraint false), so they add nothing to keep.
 */
export function ftPresetFor(cfg: ModelConfig): Preset<FtHparams> {
  const published = presetModel(cfg);
  if (published === 'gpt-j-6b' || published === 'gptj-family') return { hparams: FT_GPT_J, source: 'hparams/FT/EleutherAI_gpt-j-6B_constr.json (kmeng01/rome; copy in zjunlp/EasyEdit)' };
  // The published or scaled-from hparams of this family, when there are any (GPT-J's returned above).
  const family = publishedFor(cfg) ?? scaleBase(cfg)?.base;
  if (cfg.n_layers >= 24 || family) {
    const easyEdit = family?.romeSource.startsWith(EASYEDIT) ? "; lr, steps and weight decay match EasyEdit's FT files for Llama/Mistral/Qwen, which have no ε" : '';
    return { hparams: FT_GPT2_XL, source: FT_GPT2_XL_SOURCE + easyEdit };
  }
  return { hparams: FT_SMALL_MODEL, source: SMALL_MODEL_SOURCE };
}

/** ROME's preset hparams for a loaded model (sequential/templates.ts samples ROME's templates with them). */
export function romePreset(model: { readonly config: ModelConfig }): RomeHparams {
  return romePresetFor(model.config).hparams;
}
