import { LocusError } from '../../errors';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import type { LocusTokenizer } from '../../model/tokenizer';
import type { Edit, ParamDelta } from '../edit/edits';
import { EditStack } from '../edit/edits';
import { dot } from '../linalg';
import { computeKeyStar, leftVector, readAtTemplates } from './computeKey';
import type { TemplateReads } from './computeKey';
import { computeValueStar } from './computeValue';
import type { ValueStep } from './computeValue';
import type { RomeHparams } from './hparams';
import { lookupIndex } from './lookup';
import { SubjectNoiser } from '../subjectNoise';
import type { EditReuse } from '../edit/editReuse';

/** A CounterFact-style rewrite: `prompt` holds "{}" where the subject goes. */
export interface RewriteRequest {
  readonly prompt: string;
  readonly subject: string;
  readonly target_new: { readonly str: string };
  readonly target_true?: { readonly str: string };
}

export interface RomeOptions {
  readonly hparams: RomeHparams;
  /** Context templates, each with one "{}" ("{}" itself first, as ROME's list). */
  readonly contextTemplates: readonly string[];
  /** E[k kᵀ] of the layer's MLP keys (d_mlp × d_mlp), needed when mom2_adjustment is on. */
  readonly secondMoment?: (layer: number) => Promise<Float64Array | Float32Array>;
  readonly signal?: AbortSignal;
  readonly onProgress?: (stage: string) => void;
  /** 'erasure': minimize the target's probability (Fact Erasure) instead of maximizing it. */
  readonly objective?: 'nll' | 'erasure';
  /** Fact Forcing: σ of the subject noise added on every forward pass while editing. */
  readonly subjectNoise?: number;
  /**
   * Which keys u and the update use (rebuilding-rome's key flags; see rrome/). ROME's own code, the
   * default: u from the template mean k*, the update from the bare prompt's key and MLP output.
   */
  readonly keys?: RomeKeyChoice;
  /** The Edit's method id (default 'rome'). */
  readonly method?: string;
  /**
   * Shares v* with other edits of the same unedited model (a study: valueStars.ts computes several facts'
   * v* in lockstep). Used for a one-layer edit only: a later layer's v* is computed on the earlier layers' update.
   */
  readonly reuse?: EditReuse;
}

export interface RomeKeyChoice {
  /** 'templates': k* = mean over the context templates (ROME); 'prompt': the bare prompt's key (p-ROME). */
  readonly u: 'templates' | 'prompt';
  /**
   * 'prompt': v = (v* − W k) / (k·u) with k, W k at the bare prompt (ROME's compute_v);
   * 'templates': k and W k averaged over the templates, as u's (r-ROME, rebuilding-rome compute_v.py).
   */
  readonly update: 'prompt' | 'templates';
}

const ROME_KEYS: RomeKeyChoice = { u: 'templates', update: 'prompt' };

export interface RomeLayerDetails {
  readonly layer: number;
  readonly u: Float64Array;
  readonly v: Float64Array;
  readonly kStar: Float64Array;
  /** The key and MLP output at the bare prompt's lookup token. */
  readonly kPrompt: Float64Array;
  readonly vOld: Float64Array;
  /** The key and MLP output the update divides by and subtracts (= kPrompt, vOld unless keys.update is 'templates'). */
  readonly kUpdate: Float64Array;
  readonly vOldUpdate: Float64Array;
  /** Per template (keys.update 'templates' only): the rows averaged into kUpdate / vOldUpdate. */
  readonly updatePerTemplate?: { readonly keys: Float64Array[]; readonly outs: Float64Array[] };
  /** v_init: the MLP output at the first rewriting prompt (r-ROME's target_init); v* = v_init + δ. */
  readonly vInit: Float64Array;
  readonly vStar: Float64Array;
  /** The division factor kUpdate·u (r-ROME's "Division Factor"; tiny means a disabling edit). */
  readonly dotKU: number;
  /** kPrompt·u (ROME's own denominator), for comparison. */
  readonly dotKPromptU: number;
  readonly keysUsed: RomeKeyChoice;
  readonly steps: ValueStep[];
}

export interface RomeResult {
  readonly edit: Edit;
  readonly details: RomeLayerDetails[];
}

/** The target's token ids as ROME scores them: target_new with a leading space. */
export function romeTargetIds(tok: LocusTokenizer, request: RewriteRequest): number[] {
  const target = request.target_new.str.startsWith(' ') ? request.target_new.str : ' ' + request.target_new.str;
  return tok.encodeContinuation(target).ids;
}

/**
 * ROME (Meng et al. 2022; kmeng01/rome execute_rome): for each layer, ΔW_out = u vᵀ with
 * u = C⁻¹k* normalized and v = (v* − W k) / (k·u) at the prompt's lookup token. Returns the edit as data;
 * the model is exactly as before when this returns (multi-layer edits apply earlier layers'
 * updates only while computing later ones, as the reference does, then revert them).
 */
export async function computeRome(model: LoadedModel, request: RewriteRequest, o: RomeOptions): Promise<RomeResult> {
  const h = o.hparams;
  const tok = model.tokenizer;
  if (!request.prompt.includes('{}')) throw new LocusError('bad-input', `the request prompt "${request.prompt}" has no "{}" for the subject`);
  if (request.subject.trim().length === 0) throw new LocusError('bad-input', 'the request has an empty subject');
  for (const l of h.layers) if (l < 0 || l >= model.config.n_layers) throw new LocusError('bad-input', `layer ${l} is outside 0..${model.config.n_layers - 1}`);
  const targetIds = romeTargetIds(tok, request);
  if (targetIds.length === 0) throw new LocusError('bad-input', 'target_new is empty');
  const keys = o.keys ?? ROME_KEYS;
  const method = o.method ?? 'rome';
  const temp = new EditStack(model);
  const deltas: ParamDelta[] = [];
  const details: RomeLayerDetails[] = [];
  try {
    for (const layer of [...h.layers].sort((a, b) => a - b)) {
      o.onProgress?.(`layer ${layer}: key`);
      const filled = request.prompt.replace('{}', () => request.subject);
      const noiser = o.subjectNoise === undefined ? undefined : new SubjectNoiser(o.subjectNoise, tok.findSpan(tok.encode(filled), filled, request.subject), model.config.d_model);
      // r-ROME reads the templates' keys and outputs once for both u and the update (one forward pass, one noise draw).
      const templateReads: TemplateReads | undefined = keys.update === 'templates' ? await readAtTemplates(model, layer, request.prompt, request.subject, o.contextTemplates, h.fact_token, true, o.signal, noiser) : undefined;
      const uTemplates = keys.u === 'templates' ? o.contextTemplates : ['{}'];
      const kStar = keys.u === 'templates' && templateReads ? templateReads.key : await computeKeyStar(model, layer, request.prompt, request.subject, uTemplates, h.fact_token, o.signal, noiser);
      const C = h.mom2_adjustment ? await o.secondMoment?.(layer) : undefined;
      if (h.mom2_adjustment && !C) throw new LocusError('bad-input', 'ROME with mom2_adjustment needs second-moment statistics');
      const u = leftVector(kStar, C);
      o.onProgress?.(`layer ${layer}: value`);
      const value = await computeValueStar(model, layer, request.prompt, request.subject, targetIds, o.contextTemplates, h, o.signal, o.objective === 'erasure', noiser, h.layers.length === 1 ? o.reuse : undefined);
      // k and W k at the prompt itself (ROME's get_module_input_output_at_word).
      const idx = lookupIndex(tok, request.prompt, request.subject, h.fact_token);
      const ids = tok.encode(request.prompt.replace('{}', request.subject)).ids;
      const post = `blocks.${layer}.mlp.post` as const;
      const out = `blocks.${layer}.mlp.out` as const;
      const { acts } = await forward(forwardContext(model), [ids], { fetch: [post, out], logits: 'none', signal: o.signal, interventions: noiser?.next(1, ids.length) });
      const M = model.config.d_mlp;
      const D = model.config.d_model;
      const kPrompt = Float64Array.from(acts.get(post)!.data.subarray(idx * M, (idx + 1) * M));
      const vOld = Float64Array.from(acts.get(out)!.data.subarray(idx * D, (idx + 1) * D));
      const kUpdate = templateReads?.key ?? kPrompt;
      const vOldUpdate = templateReads?.out ?? vOld;
      const dotKU = dot(kUpdate, u);
      const v = value.vStar.map((x, j) => (x - vOldUpdate[j]) / dotKU);
      const delta: ParamDelta = { param: `blocks.${layer}.mlp.W_out`, kind: 'rank-one', u: Float32Array.from(u), v: Float32Array.from(v) };
      deltas.push(delta);
      const updatePerTemplate = templateReads ? { keys: templateReads.keys, outs: templateReads.outs } : undefined;
      details.push({ layer, u, v, kStar, kPrompt, vOld, kUpdate, vOldUpdate, updatePerTemplate, vInit: value.vInit, vStar: value.vStar, dotKU, dotKPromptU: dot(kPrompt, u), keysUsed: keys, steps: value.steps });
      if (h.layers.length > 1) await temp.apply({ method, layers: [layer], deltas: [delta] });
    }
  } finally {
    await temp.revertAll();
  }
  return { edit: { method, layers: [...h.layers], deltas }, details };
}
