/**
 * What an editing method is to the rest of Locus (issue 18 item 2): everything runEdit, the CLI, the
 * worker, the study and the panels need, so none of them names a method. A method's folder exports one
 * `EditMethodSpec` per CLI id (registry/index.ts lists them); `compute` returns the edit as data and
 * never applies it.
 */
import type { ModelConfig } from '../../model/config';
import type { LoadedModel } from '../../model/model';
import type { Edit } from '../edit/edits';
import type { EditReuse } from '../edit/editReuse';
import type { MergeSpec } from '../edit/hparamValues';
import type { Preset } from '../edit/presets/types';
import type { TemplateGroups } from '../memit/computeKs';
import type { RewriteRequest } from '../rome/index';

/** Every method's hparams name the layers they edit (the reference's `layers` key). */
export interface LayeredHparams {
  layers: number[];
  /** The layer whose output the value optimisation reads (ROME/MEMIT); checked against the model when present. */
  v_loss_layer?: number;
  /** How many samples the key statistics C read (the reference's mom2_n_samples). */
  mom2_n_samples?: number;
}

/**
 * Which context templates the method samples before `compute`: ROME's flat list (from its hparams'
 * `context_template_length_params`), MEMIT's groups (compute_z's two lengths), or none (fine-tuning).
 */
export type TemplateKind = 'rome' | 'memit' | 'none';

/**
 * State that lives across the batches of one sequential run (sequential/): AlphaEdit keeps its
 * projection P and its cache of earlier keys here. A single edit gets a fresh, empty bag.
 */
export type SequenceState = Map<string, unknown>;

/** What `compute` gets besides the model and the requests; runEdit builds it. */
export interface MethodContext<H extends LayeredHparams> {
  /** The preset merged with the user's hparams, the Fact Forcing overrides and the job's layers. */
  readonly hparams: H;
  /** 'rome': the sampled (or given) templates; 'memit': the groups flattened; 'none': empty. */
  readonly templates: readonly string[];
  /** 'memit' only: the template groups (empty otherwise). */
  readonly templateGroups: TemplateGroups;
  /** E[k kᵀ] of a layer's MLP keys on the unedited model (cached loader, stats/statsCache.ts; published statistics when given). */
  readonly secondMoment: (layer: number) => Promise<Float64Array>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (stage: string) => void;
  readonly objective: 'nll' | 'erasure';
  /** Fact Forcing: σ of the subject noise added while editing (undefined: no forcing). */
  readonly subjectNoise?: number;
  readonly seed: number;
  readonly reuse?: EditReuse;
  readonly sequence: SequenceState;
}

export interface MethodOutput {
  readonly edit: Edit;
  readonly notes?: readonly string[];
  /**
   * Per edited layer, the key vectors the update used (float64 [d_mlp] each; ROME: one per request,
   * MEMIT: one per request at that layer). The pre-flight safety check computes kᵀC⁻¹k from them.
   */
  readonly keys?: ReadonlyMap<number, readonly Float64Array[]>;
}

export interface EditMethodSpec<H extends LayeredHparams = LayeredHparams> {
  /** The CLI id (`--method`), the protocol's EditMethod and the study's row key. */
  readonly id: string;
  /** Shown in panels and lists ("ROME", "FT-5"). */
  readonly label: string;
  /** One line for help texts and the panels' descriptions. */
  readonly summary: string;
  /** How the edit's notes name its defaults ("ROME defaults: …"). */
  readonly hparamsName: string;
  /** Defaults for a model of this config, with the published source of every number. */
  preset(config: ModelConfig): Preset<H>;
  /** The reference's snake_case keys: each key's rule (type, range), ignored keys, extra notes (hparamValues.ts). */
  readonly schema: MergeSpec;
  /**
   * The layers a job edits. `layer` is `--layer` (undefined: the preset's or the hparams file's);
   * `raw` the user's hparams; `merged` the preset merged with them. Notes explain a default choice.
   */
  editLayers(args: { readonly layer?: number; readonly raw: Readonly<Record<string, unknown>>; readonly merged: H; readonly config: ModelConfig }): { layers: number[]; notes?: string[] };
  /** Whether the edit reads second-moment key statistics with these hparams (the cache is checked up front). */
  usesKeyStatistics(h: H): boolean;
  readonly templates: TemplateKind;
  /**
   * Fact Forcing: the hparams it changes unless the user gave them (the seed paper's overrides);
   * undefined when the method does not support Fact Forcing.
   */
  forcingOverrides?(raw: Readonly<Record<string, unknown>>): Partial<H>;
  compute(model: LoadedModel, requests: readonly RewriteRequest[], ctx: MethodContext<H>): Promise<MethodOutput>;
}

/** The spec with its hparams type erased, as the registry's list holds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEditMethodSpec = EditMethodSpec<any>;
