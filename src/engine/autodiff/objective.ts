import { GraphBuilder } from '../graph/builder';
import type { GraphSpec } from '../graph/proto';
import { blockInputs, emitBlock, emitHead, hookInput } from '../graph/segments';
import type { HookSite, ParamGetter } from '../graph/segments';
import type { ModelConfig } from '../model/config';
import type { ParamName } from '../model/names';
import { klLoss, nllLoss } from '../ops/loss';
import { appendGradients, gradName } from './backward';

/** Where a trainable delta is added: `blocks.{layer}.{site}` (the block's hook input `inject`). */
export interface DeltaSite {
  readonly layer: number;
  readonly site: HookSite;
}

export interface ObjectiveSpec {
  /** The graph starts at blocks.{fromLayer}.resid_pre (computed once by a forward pass), so the layers below are never re-run. */
  readonly fromLayer: number;
  readonly deltas?: readonly DeltaSite[];
  /** Weights differentiated (fed as inputs each step instead of baked in). */
  readonly trainable?: readonly ParamName[];
  /** The logits are read from this block's output (ROME's v_loss_layer); default the last block. */
  readonly toLayer?: number;
  /**
   * Add KL(P_cur ‖ P_ref) at chosen rows (ROME's "essence" term): inputs `objective.kl_rows` int64 [m],
   * `objective.kl_ref` [m, d_vocab] (the unedited log-probabilities), `objective.kl_weights` [m].
   */
  readonly kl?: boolean;
  /**
   * Also differentiate with respect to the `objective.resid_pre` input itself: a delta added there is a
   * delta on blocks.{fromLayer − 1}.resid_post (MEMIT's z, kmeng01/memit compute_z edits the output of
   * `layer_module_tmp`). fromLayer may then be n_layers: the graph is only ln_final and the unembedding.
   */
  readonly gradResid?: boolean;
  /** Fact Erasure (seed paper §3.4): the fit term is exp(−nll) — the target's probability — to be minimized, instead of nll. */
  readonly erase?: boolean;
  /**
   * Each row's earlier positions come as keys and values (`past.blocks.{l}.k|v` [batch, n_heads, past, d_head],
   * `past.repeat` = [1, 1, 1, 1]) and the mask is per row, `objective.row_mask` [batch, 1, pos, past + pos]:
   * the graph runs only the positions a delta can change (ROME's v*: from the lookup token on). Models with
   * learned positions and one key/value head per query head only (no rotary tables, no grouped scores).
   */
  readonly past?: boolean;
  /**
   * Also output each scored row's term: `nll_rows` [n] = wᵢ · log pᵢ(targetᵢ) and (with `kl`) `kl_rows`
   * [m] = wᵢ · KLᵢ, so that independent objectives batched in one graph (several facts' v*, each its own
   * δ and rows) read their own loss; the gradient of the sum is each one's own at its rows.
   */
  readonly perRow?: boolean;
}

export const OBJECTIVE_INPUT = {
  resid: 'objective.resid_pre',
  rows: 'objective.rows',
  targets: 'objective.targets',
  weights: 'objective.weights',
  klRows: 'objective.kl_rows',
  klRef: 'objective.kl_ref',
  klWeights: 'objective.kl_weights',
  rowMask: 'objective.row_mask',
} as const;

export interface ObjectiveGraph {
  readonly spec: GraphSpec;
  /** Differentiated inputs, in the order of `outputs` after 'loss'. */
  readonly wrt: readonly string[];
  readonly outputs: readonly string[];
}

/**
 * The teacher-forced NLL of chosen (row, position) → token targets as a function of deltas added at
 * attn.out / mlp.out and of chosen weights, with its gradient: the objective of ROME's v*, MEMIT's z
 * and constrained fine-tuning. Feeds: `objective.resid_pre` [batch, pos, d_model],
 * `objective.rows` int64 [n] (flat indices b·pos + t whose logits are scored), `objective.targets`
 * int64 [n], `objective.weights` [n]; per delta site the block's keep [batch, pos, 1] (ones) and
 * inject [batch, pos, d_model] (the delta); the mask (and rotary tables) as for a block (graph/feeds.ts blockFeeds), fed
 * even when no block is emitted (fromLayer = n_layers), where they are declared but unused.
 */
export function buildObjectiveGraph(cfg: ModelConfig, p: ParamGetter, o: ObjectiveSpec): ObjectiveGraph {
  const trainable = new Set<string>(o.trainable ?? []);
  const g = new GraphBuilder('objective', (n) => trainable.has(n));
  let x = g.input(OBJECTIVE_INPUT.resid, ['batch', 'pos', cfg.d_model]);
  const deltas = o.deltas ?? [];
  const last = o.toLayer ?? cfg.n_layers - 1;
  if (o.past && (cfg.arch.rotary || cfg.n_kv_heads !== cfg.n_heads)) throw new Error('buildObjectiveGraph: past keys/values need learned positions and n_kv_heads = n_heads');
  const inputs = o.past ? { mask: g.input(OBJECTIVE_INPUT.rowMask, ['batch', 1, 'pos', 'keys']) } : blockInputs(g, cfg, o.fromLayer <= last);
  for (let l = o.fromLayer; l <= last; l++) {
    x = emitBlock(g, cfg, l, p, { full: deltas.some((d) => d.layer === l), past: o.past }, x, inputs);
  }
  const flat = g.node('Reshape', [x, g.int64([-1, cfg.d_model])]); // [batch·pos, d_model]
  const head = (rows: string): string => {
    const picked = g.node('Gather', [flat, rows], { axis: 0 }); // [n, d_model]
    return emitHead(g, cfg, p, picked); // [n, d_vocab]
  };
  const split = o.kl || o.erase;
  const nll = nllLoss(g, head(g.input(OBJECTIVE_INPUT.rows, ['n'], 'int64')), g.input(OBJECTIVE_INPUT.targets, ['n'], 'int64'), g.input(OBJECTIVE_INPUT.weights, ['n']), split ? 'nll' : 'loss', o.perRow ? 'nll_rows' : undefined);
  const fit = o.erase ? g.node('Exp', [g.node('Neg', [nll])]) : nll;
  let loss = fit;
  if (o.kl) {
    const kl = klLoss(g, head(g.input(OBJECTIVE_INPUT.klRows, ['m'], 'int64')), g.input(OBJECTIVE_INPUT.klRef, ['m', cfg.d_vocab]), g.input(OBJECTIVE_INPUT.klWeights, ['m']), 'kl', o.perRow ? 'kl_rows' : undefined);
    loss = g.node('Add', [fit, kl], undefined, 'loss');
    g.output('kl', []);
  } else if (o.erase) {
    loss = g.alias(fit, 'loss');
  }
  if (split) g.output('nll', []);
  if (o.perRow) {
    g.output('nll_rows', ['n']);
    if (o.kl) g.output('kl_rows', ['m']);
  }
  g.output(loss, []);
  // Invariant: the order of `wrt` (deltas, weights, then the residual input) is the order of the gradient outputs.
  const wrt = [...deltas.map((d) => hookInput(d.layer, d.site, 'inject')), ...trainable, ...(o.gradResid ? [OBJECTIVE_INPUT.resid] : [])];
  appendGradients(g, loss, wrt);
  for (const w of wrt) g.output(gradName(w), trainable.has(w) ? p(w as ParamName).shape : ['batch', 'pos', cfg.d_model]);
  const perRow = o.perRow ? ['nll_rows', ...(o.kl ? ['kl_rows'] : [])] : [];
  return { spec: g.build(), wrt, outputs: [loss, ...(split ? ['nll'] : []), ...(o.kl ? ['kl'] : []), ...perRow, ...wrt.map(gradName)] };
}
