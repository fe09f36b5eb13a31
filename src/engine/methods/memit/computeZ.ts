import { buildObjectiveGraph } from '../../autodiff/objective';
import { LocusError } from '../../errors';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import { norm } from '../linalg';
import { evaluateResidObjective, klLogitsAt, optimizeDelta, residObjectiveKey, rewriteObjectiveFeeds } from '../deltaOptimizer';
import { suffixInputs, suffixObjectiveFits } from '../suffixObjective';
import type { ValueStep } from '../deltaOptimizer';
import { lookupIndex } from '../rome/lookup';
import type { SubjectPrompt, TemplateGroups } from './computeKs';
import { fillTemplate } from './computeKs';
import type { ParamDelta } from '../edit/edits';
import type { MemitHparams } from './hparams';
import type { RewriteRequest } from '../rome/index';

export interface ZResult {
  /** z = z_init + δ: the output of block z_layer the request's lookup token should produce. */
  readonly z: Float64Array;
  /** blocks.{zLayer}.resid_post at the first rewriting prompt's lookup token, unedited. */
  readonly zInit: Float64Array;
  readonly steps: ValueStep[];
}

/**
 * z by gradient descent (MEMIT §4.3 eq. 16; kmeng01/memit compute_z). Unlike ROME's compute_v, δ is
 * added to the OUTPUT of block `layer` (its residual stream, blocks.{layer}.resid_post) at the lookup
 * token of every rewriting prompt (each template of each group + the prompt + the target's first n−1
 * tokens) and of the KL prompt "{} is a"; so the graph starts at block layer + 1 with δ in its input
 * (fromLayer = n_layers: only the head). Minimized, as in compute_z:
 *   mean_prompts NLL(target) / n_target + kl_factor · KL(P_δ ‖ P_0)("{} is a" at the subject)
 *   + v_weight_decay · ‖δ‖ / ‖z_init‖²,
 * Adam (lr v_lr), δ clamped to clamp_norm_factor · ‖z_init‖ after each step, stop when the loss < 0.05,
 * the last iteration only evaluated. The NLL is read at max(v_loss_layer, layer), which must be the
 * last block here (the head reads the final residual stream; the reference's presets all do so).
 * z AT the last block (layer = n_layers − 1) reaches the NLL only where a lookup token is itself a
 * target-scoring position: no block above carries it to the prompt's end, so for the usual subject
 * mid-prompt the NLL gradient is zero and z moves by the KL term alone (measured on llama-tiny-random:
 * the NLL stayed at 19.019 for 100 steps). The presets keep the window below it (presets/smallModel.ts belowLastBlock).
 */
export async function computeZ(model: LoadedModel, layer: number, request: SubjectPrompt, targetIds: readonly number[], groups: TemplateGroups, h: MemitHparams, signal?: AbortSignal, erase = false): Promise<ZResult> {
  const cfg = model.config;
  const tok = model.tokenizer;
  const D = cfg.d_model;
  const last = cfg.n_layers - 1;
  if (Math.min(Math.max(h.v_loss_layer, layer), last) !== last) {
    throw new LocusError('bad-input', `v_loss_layer ${h.v_loss_layer} is below the last block ${last}: MEMIT's z here reads the loss at the model's output`);
  }
  const suffix = tok.decode(targetIds.slice(0, -1));
  const rewriting = groups.flatMap((g) => g.map((t) => fillTemplate(t, request.prompt) + suffix));
  const all = [...rewriting, '{} is a'];
  const rows = all.map((p) => tok.encode(fillTemplate(p, request.subject)).ids);
  const lookups = all.map((p) => lookupIndex(tok, p, request.subject, h.fact_token));

  // Fixed across steps: the residual stream leaving block `layer` (the graph's input before δ), z_init, the KL reference.
  const post = `blocks.${layer}.resid_post` as const;
  // The steps run each row from its lookup token on; the positions before enter once as keys/values (suffixObjective.ts).
  const cached = suffixObjectiveFits(cfg, layer + 1);
  const base = await forward(forwardContext(model), rows, { fetch: [post], logitsAt: klLogitsAt(rows, lookups), signal, keysValues: cached });
  const full = base.acts.get(post)!;
  const zInit = Float64Array.from(full.data.subarray(lookups[0] * D, (lookups[0] + 1) * D));
  const cut = cached ? suffixInputs(cfg, full, base.lengths, lookups, base.kv!, layer + 1) : undefined;
  const resid = cut?.resid ?? full;

  const spec = { fromLayer: layer + 1, kl: true, gradResid: true, erase, past: cut !== undefined };
  const graph = buildObjectiveGraph(cfg, (n) => model.param(n), spec);
  // Kept across requests and edits (creating it costs seconds); dropped when a weight it bakes in changes.
  const session = await model.sessions.getCustom(residObjectiveKey(layer + 1, erase) + (cut ? '.past' : ''), (p) => buildObjectiveGraph(cfg, p, spec).spec);
  const feeds = { ...rewriteObjectiveFeeds(cfg, rows, lookups, targetIds, base.logits!, h.kl_factor, cut?.layout), ...cut?.feeds };

  const { delta, steps } = await optimizeDelta(D, { steps: h.v_num_grad_steps, lr: h.v_lr, weightDecay: h.v_weight_decay, clampNormFactor: h.clamp_norm_factor, initNorm: norm(zInit), signal }, (d) =>
    evaluateResidObjective(session, graph.outputs, feeds, resid, cut?.lookups ?? lookups, d));
  return { z: zInit.map((v, j) => v + delta[j]), zInit, steps };
}

/**
 * z per request at `zLayer`, the first loop of MEMIT and of the methods built on it (AlphaEdit): the
 * precomputed `o.zs` when given (copied), else computeZ with target_new led by a space (the references
 * prepend one, as apply_memit_to_model does).
 */
export async function requestZs(
  model: LoadedModel,
  zLayer: number,
  requests: readonly RewriteRequest[],
  o: { readonly hparams: MemitHparams; readonly contextTemplates: TemplateGroups; readonly zs?: readonly Float64Array[]; readonly signal?: AbortSignal; readonly onProgress?: (stage: string) => void; readonly objective?: 'nll' | 'erasure' },
): Promise<{ zs: Float64Array[]; zSteps: ValueStep[][] }> {
  const zs: Float64Array[] = [];
  const zSteps: ValueStep[][] = [];
  if (o.zs) {
    zs.push(...o.zs.map((z) => Float64Array.from(z)));
  } else {
    for (const [i, r] of requests.entries()) {
      o.onProgress?.(`request ${i + 1}/${requests.length}: z at layer ${zLayer}`);
      const target = r.target_new.str.startsWith(' ') ? r.target_new.str : ' ' + r.target_new.str;
      const targetIds = model.tokenizer.encodeContinuation(target).ids;
      if (targetIds.length === 0) throw new LocusError('bad-input', `request ${i + 1}: target_new is empty`);
      const res = await computeZ(model, zLayer, r, targetIds, o.contextTemplates, o.hparams, o.signal, o.objective === 'erasure');
      zs.push(res.z);
      zSteps.push(res.steps);
    }
  }
  return { zs, zSteps };
}

/**
 * The checks MEMIT and AlphaEdit make on a batch before anything runs: requests with a "{}" and a subject,
 * layers strictly ascending inside the model, and no fact_token "last" (the references' compute_z /
 * get_module_input_output_at_words raise on it: find_fact_lookup_idx's -1 points into a batch's padding).
 */
export function checkRequestsAndLayers(model: LoadedModel, requests: readonly SubjectPrompt[], h: MemitHparams, method: string): void {
  const L = model.config.n_layers;
  if (requests.length === 0) throw new LocusError('bad-input', `${method} needs at least one request`);
  for (const r of requests) {
    if (!r.prompt.includes('{}')) throw new LocusError('bad-input', `the request prompt "${r.prompt}" has no "{}" for the subject`);
    if (r.subject.trim().length === 0) throw new LocusError('bad-input', 'a request has an empty subject');
  }
  if (h.layers.length === 0) throw new LocusError('bad-input', `${method} needs at least one layer`);
  h.layers.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= L) throw new LocusError('bad-input', `layer ${l} is outside 0..${L - 1}`);
    if (i > 0 && l <= h.layers[i - 1]) throw new LocusError('bad-input', `${method} layers must be strictly ascending (z is taken at the last): got ${h.layers.join(', ')}`);
  });
  if (h.fact_token === 'last') throw new LocusError('bad-input', `${method} does not support fact_token "last" (the reference raises on it)`);
}

/** The context templates are non-empty groups of templates with a "{}"; precomputed z's, when given, are one per request. */
export function checkTemplatesAndZs(o: { readonly contextTemplates: TemplateGroups; readonly zs?: readonly Float64Array[] }, requests: number): void {
  if (o.contextTemplates.length === 0 || o.contextTemplates.some((g) => g.length === 0 || g.some((t) => !t.includes('{}')))) {
    throw new LocusError('bad-input', 'context templates must be non-empty groups of templates containing "{}"');
  }
  if (o.zs && o.zs.length !== requests) throw new LocusError('bad-input', `${o.zs.length} precomputed z for ${requests} requests`);
}

/**
 * A layer's ΔW [d_mlp, d_model] as a dense float32 delta on blocks.{layer}.mlp.W_out (rounded to float32
 * once, as the references add a float32 update); a shape that does not fit the weight is a LocusError.
 */
export function outProjectionDelta(model: LoadedModel, layer: number, deltaW: Float64Array, keyDim: number, residDim: number, method: string): ParamDelta {
  const param = `blocks.${layer}.mlp.W_out` as const;
  const shape = model.param(param).shape;
  if (shape.length !== 2 || shape[0] * shape[1] !== deltaW.length || shape[0] !== keyDim) {
    throw new LocusError('bad-input', `${method}'s update (${keyDim}×${residDim}) does not match ${param} [${shape.join(', ')}]`);
  }
  return { param, kind: 'dense', shape: [...shape], delta: Float32Array.from(deltaW) };
}
