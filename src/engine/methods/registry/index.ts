/**
 * The editing methods Locus offers, in the order every list shows them (CLI help, panels, study).
 *
 * Adding a method touches its own folder and one line here: the folder holds its computation and a
 * `method.ts` exporting an `EditMethodSpec` (spec.ts: id, label, summary, the notes' name for its
 * hparams, `preset` with the published source of its numbers, `schema` — the reference's snake_case
 * keys with a rule each —, `editLayers`, `usesKeyStatistics`, `templates`, `forcingOverrides` when it
 * supports Fact Forcing, and `compute` returning the edit as data); then its spec goes in
 * EDIT_METHOD_SPECS below. runEdit, the CLI (`--method`, `checkEditHparams`), the worker, sweeps, the
 * study and the panels (which receive `editMethodList()` over the protocol) enumerate this list and
 * name no method.
 */
import { LocusError } from '../../errors';
import { parseConfig } from '../../model/config';
import type { ModelConfig } from '../../model/config';
import { ALPHAEDIT_METHOD } from '../alphaedit/method';
import { mergeHparams } from '../edit/hparamValues';
import { FT_METHODS } from '../finetune/method';
import { MEMIT_METHOD } from '../memit/method';
import { ROME_METHOD } from '../rome/method';
import { RROME_METHOD } from '../rrome/method';
import { EMMET_METHOD } from '../emmet/method';
import type { AnyEditMethodSpec } from './spec';

export const EDIT_METHOD_SPECS: readonly AnyEditMethodSpec[] = [
  ROME_METHOD,
  RROME_METHOD,
  MEMIT_METHOD,
  EMMET_METHOD,
  ALPHAEDIT_METHOD,
  ...FT_METHODS,
];

/** A method's CLI id (`--method`), one of EDIT_METHODS; checked with `methodSpec`. */
export type EditMethod = string;

export const EDIT_METHODS: readonly EditMethod[] = EDIT_METHOD_SPECS.map((s) => s.id);

/** What clients show: id, label and one line per method (the panels get this over the protocol). */
export interface EditMethodInfo {
  readonly id: string;
  readonly label: string;
  readonly summary: string;
  readonly factForcing: boolean;
}

export function editMethodList(): EditMethodInfo[] {
  return EDIT_METHOD_SPECS.map((s) => ({ id: s.id, label: s.label, summary: s.summary, factForcing: s.forcingOverrides !== undefined }));
}

/** "a, b and c". */
export const listWords = (xs: readonly string[]): string => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

export function isEditMethod(id: unknown): id is EditMethod {
  return typeof id === 'string' && EDIT_METHODS.includes(id);
}

/** The spec of `id`; anything else is a LocusError listing the methods. */
export function methodSpec(id: unknown): AnyEditMethodSpec {
  const spec = EDIT_METHOD_SPECS.find((s) => s.id === id);
  if (!spec) throw new LocusError('bad-input', `method must be one of ${EDIT_METHODS.join(', ')}`);
  return spec;
}

/** The ids of the methods that support Fact Forcing. */
export const forcingMethods = (): string[] => EDIT_METHOD_SPECS.filter((s) => s.forcingOverrides !== undefined).map((s) => s.id);

/**
 * Checks a raw hparams object for `method` the way runEdit will merge it (types and ranges of every
 * known key), without a model: the CLI calls it before loading one, so a typo costs no load time.
 */
export function checkEditHparams(method: EditMethod, raw: Record<string, unknown>, source = 'hparams'): void {
  const spec = methodSpec(method);
  // Merged onto a full preset, so a schema's checks across keys (its `notes`) see every key, as runEdit's merge does.
  mergeHparams(spec.preset(referenceConfig()).hparams, raw, spec.schema, source);
}

/**
 * GPT-2 XL's config.json (openai-community/gpt2-xl), the model of ROME's and MEMIT's own hparams
 * files: a file is checked against each method's preset for it before any model is loaded.
 */
let gpt2Xl: ModelConfig | undefined;
function referenceConfig(): ModelConfig {
  gpt2Xl ??= parseConfig({ model_type: 'gpt2', n_embd: 1600, n_head: 25, n_layer: 48, n_positions: 1024, n_ctx: 1024, vocab_size: 50257, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' }, 'GPT-2 XL config.json');
  return gpt2Xl;
}
