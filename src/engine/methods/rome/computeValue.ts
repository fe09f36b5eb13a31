import { buildObjectiveGraph } from '../../autodiff/objective';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import type { Feed } from '../../runtime/ort';
import { norm } from '../linalg';
import { evaluateResidObjective, klLogitsAt, optimizeDelta, residObjectiveKey, rewriteObjectiveFeeds } from '../deltaOptimizer';
import type { SubjectNoiser } from '../subjectNoise';
import type { EditReuse } from '../edit/editReuse';
import type { ValueStep } from '../deltaOptimizer';
import type { RomeHparams } from './hparams';
import { lookupIndex } from './lookup';
import { suffixInputs, suffixObjectiveFits } from '../suffixObjective';

export type { ValueStep } from '../deltaOptimizer';

/**
 * The key under which an EditReuse keeps a v* of the unedited model: everything computeValueStar reads
 * besides the weights (the hparams it uses, not the others: v_loss_layer and the statistics do not enter v*).
 */
export const valueStarKey = (layer: number, prompt: string, subject: string, targetIds: readonly number[], templates: readonly string[], h: RomeHparams, erase: boolean): string =>
  `vstar|${JSON.stringify([layer, prompt, subject, targetIds, templates, h.fact_token, h.v_num_grad_steps, h.v_lr, h.v_weight_decay, h.clamp_norm_factor, h.kl_factor, erase])}`;

/**
 * v*'s rows (kmeng01/rome compute_v): each context template around the prompt followed by the target's
 * first n−1 tokens, then the KL prompt "{} is a"; and each row's lookup token.
 */
export function valueStarRows(model: LoadedModel, prompt: string, subject: string, targetIds: readonly number[], templates: readonly string[], factToken: RomeHparams['fact_token']): { rows: number[][]; lookups: number[] } {
  const tok = model.tokenizer;
  const suffix = tok.decode(targetIds.slice(0, -1));
  const rewriting = templates.map((t) => t.replace('{}', prompt) + suffix);
  const all = [...rewriting, '{} is a'];
  return { rows: all.map((p) => tok.encode(p.replace('{}', subject)).ids), lookups: all.map((p) => lookupIndex(tok, p, subject, factToken)) };
}

export interface ValueResult {
  /** v* = v_init + δ: the MLP output the fact's lookup token should produce. */
  readonly vStar: Float64Array;
  readonly vInit: Float64Array;
  readonly steps: ValueStep[];
}

/**
 * v* by gradient descent (ROME §3.1, eq. 4; kmeng01/rome compute_v): a delta δ added to
 * blocks.{l}.mlp.out at the lookup token of every rewriting prompt (each context template + the
 * prompt + the target's first n−1 tokens) and of the KL prompt "{} is a", minimizing
 *   mean_prompts NLL(target) / n_target + kl_factor · KL(P_δ ‖ P_0)("{} is a" at the subject)
 *   + v_weight_decay · ‖δ‖ / ‖v_init‖²,
 * with Adam (lr v_lr), δ clamped to clamp_norm_factor · ‖v_init‖ after each step, early stop when the
 * loss < 0.05, and the last iteration only evaluated. One ORT graph gives the loss and ∂/∂δ.
 * Fact Erasure (`erase`) replaces the NLL term by exp(−NLL), the target's probability, as the seed paper's code.
 */
export async function computeValueStar(model: LoadedModel, layer: number, prompt: string, subject: string, targetIds: readonly number[], templates: readonly string[], h: RomeHparams, signal?: AbortSignal, erase = false, noiser?: SubjectNoiser, reuse?: EditReuse): Promise<ValueResult> {
  // A study computes several facts' v* in lockstep ahead of their edits (valueStars.ts) and leaves them here; noised runs are never shared.
  if (reuse && !noiser) return reuse.get(valueStarKey(layer, prompt, subject, targetIds, templates, h, erase), () => computeValueStar(model, layer, prompt, subject, targetIds, templates, h, signal, erase));
  const cfg = model.config;
  const D = cfg.d_model;
  const { rows, lookups } = valueStarRows(model, prompt, subject, targetIds, templates, h.fact_token);
  const B = rows.length;
  const ctx = forwardContext(model);

  // δ added to mlp.out at a token is δ added to that block's output resid_post there (the residual sum),
  // so the graph starts above the edited layer and never re-runs it: one block less per step, forward and backward.
  // Fixed across steps: the residual stream leaving the edited layer, v_init, and the KL reference.
  const post = `blocks.${layer}.resid_post` as const;
  const out = `blocks.${layer}.mlp.out` as const;
  const minLen = Math.min(...rows.map((r) => r.length));
  // Without subject noise the positions before each lookup token never change: the steps run the suffixes only (suffixObjective.ts).
  const cached = !noiser && suffixObjectiveFits(cfg, layer + 1);
  const base = await forward(ctx, rows, { fetch: [post, out], logitsAt: klLogitsAt(rows, lookups), signal, interventions: noiser?.next(B, minLen), keysValues: cached });
  const mlpOut = base.acts.get(out)!;
  const vInit = Float64Array.from(mlpOut.data.subarray(lookups[0] * D, (lookups[0] + 1) * D));
  const cut = cached ? suffixInputs(cfg, base.acts.get(post)!, base.lengths, lookups, base.kv!, layer + 1) : undefined;
  const spec = { fromLayer: layer + 1, kl: true, gradResid: true, erase, past: cut !== undefined };
  // Building the spec is cheap (weights are viewed, not copied); creating its ORT session costs seconds,
  // so the session is kept across edits (MEMIT's z uses the same graph) and dropped when a weight it bakes in changes.
  const graph = buildObjectiveGraph(cfg, (n) => model.param(n), spec);
  const session = await model.sessions.getCustom(residObjectiveKey(layer + 1, erase) + (cut ? '.past' : ''), (p) => buildObjectiveGraph(cfg, p, spec).spec);
  const feeds: Record<string, Feed> = { ...rewriteObjectiveFeeds(cfg, rows, lookups, targetIds, base.logits!, h.kl_factor, cut?.layout), ...cut?.feeds };

  let resid = cut?.resid ?? base.acts.get(post)!;
  let first = true;
  const { delta, steps } = await optimizeDelta(D, { steps: h.v_num_grad_steps, lr: h.v_lr, weightDecay: h.v_weight_decay, clampNormFactor: h.clamp_norm_factor, initNorm: norm(vInit), signal }, async (d) => {
    // Fact Forcing: every forward pass sees fresh subject noise, so the layers below are re-run (the first step reuses `base`).
    if (noiser && !first) resid = (await forward(ctx, rows, { fetch: [post], logits: 'none', signal, interventions: noiser.next(B, minLen) })).acts.get(post)!;
    first = false;
    return evaluateResidObjective(session, graph.outputs, feeds, resid, cut?.lookups ?? lookups, d);
  });
  return { vStar: vInit.map((v, j) => v + delta[j]), vInit, steps };
}
