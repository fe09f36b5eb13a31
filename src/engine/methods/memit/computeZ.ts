import { buildObjectiveGraph, OBJECTIVE_INPUT } from '../../autodiff/objective';
import { gradName } from '../../autodiff/backward';
import { LocusError } from '../../errors';
import { causalMask, rotaryTables } from '../../graph/attention';
import { INPUT } from '../../graph/segments';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import { logSoftmax } from '../../interp/topk';
import type { LoadedModel } from '../../model/model';
import type { Feed } from '../../runtime/ort';
import { norm } from '../linalg';
import { optimizeDelta, sumAtLookups } from '../deltaOptimizer';
import type { ValueStep } from '../deltaOptimizer';
import { lookupIndex } from '../rome/lookup';
import type { SubjectPrompt, TemplateGroups } from './computeKs';
import { fillTemplate } from './computeKs';
import type { MemitHparams } from './hparams';

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
 */
export async function computeZ(model: LoadedModel, layer: number, request: SubjectPrompt, targetIds: readonly number[], groups: TemplateGroups, h: MemitHparams, signal?: AbortSignal, erase = false): Promise<ZResult> {
  const cfg = model.config;
  const tok = model.tokenizer;
  const D = cfg.d_model;
  const last = cfg.n_layers - 1;
  if (Math.min(Math.max(h.v_loss_layer, layer), last) !== last) {
    throw new LocusError('bad-input', `v_loss_layer ${h.v_loss_layer} is below the last block ${last}: MEMIT's z here reads the loss at the model's output`);
  }
  const nT = targetIds.length;
  const suffix = tok.decode(targetIds.slice(0, -1));
  const rewriting = groups.flatMap((g) => g.map((t) => fillTemplate(t, request.prompt) + suffix));
  const all = [...rewriting, '{} is a'];
  const rows = all.map((p) => tok.encode(fillTemplate(p, request.subject)).ids);
  const lookups = all.map((p) => lookupIndex(tok, p, request.subject, h.fact_token));
  const T = Math.max(...rows.map((r) => r.length));
  const B = rows.length;
  const V = cfg.d_vocab;

  // Fixed across steps: the residual stream leaving block `layer` (the graph's input before δ), z_init, the KL reference.
  const post = `blocks.${layer}.resid_post` as const;
  const base = await forward(forwardContext(model), rows, { fetch: [post], logits: 'all', signal });
  const resid = base.acts.get(post)!;
  const zInit = Float64Array.from(resid.data.subarray(lookups[0] * D, (lookups[0] + 1) * D));
  const klRow = B - 1;
  const klAt = klRow * T + lookups[klRow];
  const klRef = Float32Array.from(logSoftmax(base.logits!.data.subarray(klAt * V, (klAt + 1) * V)));

  const spec = { fromLayer: layer + 1, kl: true, gradResid: true, erase };
  const graph = buildObjectiveGraph(cfg, (n) => model.param(n), spec);
  // Kept across requests and edits (creating it costs seconds); dropped when a weight it bakes in changes.
  const session = await model.sessions.getCustom(`objective.memit-z.${layer}.${erase ? 'erase' : 'nll'}`, (p) => buildObjectiveGraph(cfg, p, spec).spec);
  const targetRows: bigint[] = [];
  const targets: bigint[] = [];
  rewriting.forEach((_, i) => {
    const len = rows[i].length;
    targetIds.forEach((id, j) => {
      targetRows.push(BigInt(i * T + len - nT + j)); // logits at position p predict token p + 1: the last nT positions score the target
      targets.push(BigInt(id));
    });
  });
  const feeds: Record<string, Feed> = {
    [OBJECTIVE_INPUT.rows]: { shape: [targets.length], ids: BigInt64Array.from(targetRows) },
    [OBJECTIVE_INPUT.targets]: { shape: [targets.length], ids: BigInt64Array.from(targets) },
    [OBJECTIVE_INPUT.weights]: { shape: [targets.length], data: new Float32Array(targets.length).fill(1 / (nT * rewriting.length)) },
    [OBJECTIVE_INPUT.klRows]: { shape: [1], ids: BigInt64Array.from([BigInt(klAt)]) },
    [OBJECTIVE_INPUT.klRef]: { shape: [1, V], data: klRef },
    [OBJECTIVE_INPUT.klWeights]: { shape: [1], data: Float32Array.from([h.kl_factor]) },
    [INPUT.mask]: { shape: [T, T], data: causalMask(T) },
  };
  if (cfg.modelType === 'gptj') {
    const { cos, sin } = rotaryTables(T, cfg.d_head, cfg.rotaryDim);
    feeds[INPUT.cos] = { shape: [T, 1, cfg.d_head], data: cos };
    feeds[INPUT.sin] = { shape: [T, 1, cfg.d_head], data: sin };
  }

  const { delta, steps } = await optimizeDelta(D, { steps: h.v_num_grad_steps, lr: h.v_lr, weightDecay: h.v_weight_decay, clampNormFactor: h.clamp_norm_factor, initNorm: norm(zInit), signal }, async (d) => {
    // Invariant: the fed residual is the unedited block output plus δ at every prompt's lookup token, nowhere else.
    const x = Float32Array.from(resid.data);
    lookups.forEach((idx, i) => {
      for (let j = 0; j < D; j++) x[(i * T + idx) * D + j] += d[j];
    });
    feeds[OBJECTIVE_INPUT.resid] = { shape: resid.shape, data: x };
    const res = await session.run(feeds, graph.outputs);
    return { objective: res['loss'].data[0], nll: res['nll'].data[0], kl: res['kl'].data[0], grad: sumAtLookups(res[gradName(OBJECTIVE_INPUT.resid)].data, lookups, T, D) };
  });
  return { z: zInit.map((v, j) => v + delta[j]), zInit, steps };
}
