/**
 * Several facts' v* at one layer in lockstep (issue 17 item 4): a study edits many facts from the same
 * unedited model, and each v* step is one small graph run whose fixed cost (~5 ms of ~19 ms on the
 * embedded model) is paid once for all of them when their rows share one batch. Each fact keeps its own
 * δ (added at its own rows' lookup tokens only), Adam state and early stop (deltaOptimizer.ts
 * optimizeDeltasLockstep); the rows of different facts never attend to each other, so the gradient of
 * the summed loss at a fact's rows is that fact's own, and each fact's loss is read from the graph's
 * per-row terms (ObjectiveSpec.perRow). Results equal computeValueStar's one at a time to float error
 * (test/model/valueStars.test.ts). Only the plain case is batched: no subject noise (Fact Forcing),
 * not Fact Erasure (its exp(−NLL) is not a sum over rows), learned positions (suffixObjectiveFits).
 */
import { gradName } from '../../autodiff/backward';
import { buildObjectiveGraph, OBJECTIVE_INPUT } from '../../autodiff/objective';
import { forward } from '../../interp/forward';
import type { ForwardResult } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import type { Feed } from '../../runtime/ort';
import type { Tensor } from '../../tensor/tensor';
import type { EditReuse } from '../edit/editReuse';
import { norm } from '../linalg';
import { klLogitsAt, optimizeDeltasLockstep, residObjectiveKey, rewriteObjectiveFeeds } from '../deltaOptimizer';
import type { DeltaEvaluation } from '../deltaOptimizer';
import { suffixInputs, suffixObjectiveFits } from '../suffixObjective';
import { valueStarKey, valueStarRows } from './computeValue';
import type { ValueResult } from './computeValue';
import type { RomeHparams } from './hparams';

/** One fact's v* inputs, as computeValueStar takes them (targetIds: the target's ids with ROME's leading space). */
export interface ValueStarItem {
  readonly layer: number;
  readonly prompt: string;
  readonly subject: string;
  readonly targetIds: readonly number[];
  readonly templates: readonly string[];
  readonly hparams: RomeHparams;
}

/** One fact's fixed inputs: its rows, the unedited forward pass over them and v_init. */
interface FactRows {
  readonly item: ValueStarItem;
  readonly rows: number[][];
  readonly lookups: number[];
  readonly base: ForwardResult;
  readonly vInit: Float64Array;
}

/** Facts whose v* can share a batch: the plain objective, suffix runs possible, every lookup after the first position. */
export function lockstepFits(model: LoadedModel, item: ValueStarItem): boolean {
  const { lookups } = valueStarRows(model, item.prompt, item.subject, item.targetIds, item.templates, item.hparams.fact_token);
  return suffixObjectiveFits(model.config, item.layer + 1) && Math.min(...lookups) >= 1;
}

/**
 * Computes the items' v* (all at the same layer, each lockstepFits) in one lockstep optimisation and
 * keeps each in `reuse` under computeValueStar's key, where the fact's edit finds it.
 */
export async function prefetchValueStars(model: LoadedModel, items: readonly ValueStarItem[], reuse: EditReuse, signal?: AbortSignal): Promise<void> {
  const results = await computeValueStars(model, items, signal);
  items.forEach((it, i) => void reuse.get(valueStarKey(it.layer, it.prompt, it.subject, it.targetIds, it.templates, it.hparams, false), () => Promise.resolve(results[i])));
}

/** The items' v* (same layer), computed in lockstep; item i's result equals computeValueStar's for it to float error. */
export async function computeValueStars(model: LoadedModel, items: readonly ValueStarItem[], signal?: AbortSignal): Promise<ValueResult[]> {
  if (items.length === 0) return [];
  const layer = items[0].layer;
  if (items.some((it) => it.layer !== layer || !lockstepFits(model, it))) throw new Error('computeValueStars: items must share one layer and fit the lockstep objective');
  const cfg = model.config;
  const D = cfg.d_model;
  const post = `blocks.${layer}.resid_post` as const;
  const out = `blocks.${layer}.mlp.out` as const;
  // Each fact's unedited pass alone, as computeValueStar's (the same padded batch, so the same numbers).
  const facts: FactRows[] = [];
  for (const item of items) {
    const { rows, lookups } = valueStarRows(model, item.prompt, item.subject, item.targetIds, item.templates, item.hparams.fact_token);
    const base = await forward(forwardContext(model), rows, { fetch: [post, out], logitsAt: klLogitsAt(rows, lookups), signal, keysValues: true });
    const mlpOut = base.acts.get(out)!; // [rows, pos, d_model]
    facts.push({ item, rows, lookups, base, vInit: Float64Array.from(mlpOut.data.subarray(lookups[0] * D, (lookups[0] + 1) * D)) });
  }
  const spec = { fromLayer: layer + 1, kl: true, gradResid: true, erase: false, past: true, perRow: true };
  const graph = buildObjectiveGraph(cfg, (n) => model.param(n), spec);
  const session = await model.sessions.getCustom(`${residObjectiveKey(layer + 1, false)}.past.rows`, (p) => buildObjectiveGraph(cfg, p, spec).spec);

  let batch: { key: string; inputs: LockstepInputs } | undefined;
  const evaluate = async (active: readonly number[], deltas: readonly Float32Array[]): Promise<DeltaEvaluation[]> => {
    const key = active.join(',');
    if (batch?.key !== key) batch = { key, inputs: lockstepInputs(model, active.map((i) => facts[i]), layer + 1) };
    const b = batch.inputs;
    const [, W] = b.resid.shape;
    const x = Float32Array.from(b.resid.data); // [rows, width, d_model]; δ at each row's first suffix position, its lookup token
    b.rowStart.forEach((r0, k) => {
      for (let r = r0; r < b.rowStart[k + 1]; r++) for (let j = 0; j < D; j++) x[r * W * D + j] += deltas[k][j];
    });
    const res = await session.run({ ...b.feeds, [OBJECTIVE_INPUT.resid]: { shape: b.resid.shape, data: x } }, graph.outputs);
    const nllRows = res['nll_rows'].data;
    const klRows = res['kl_rows'].data;
    const g = res[gradName(OBJECTIVE_INPUT.resid)].data; // [rows, width, d_model]
    return active.map((_, k) => {
      let nll = 0;
      for (let t = b.targetStart[k]; t < b.targetStart[k + 1]; t++) nll -= nllRows[t];
      const kl = klRows[k];
      const grad = new Float32Array(D);
      for (let r = b.rowStart[k]; r < b.rowStart[k + 1]; r++) for (let j = 0; j < D; j++) grad[j] += g[r * W * D + j];
      return { objective: nll + kl, nll, kl, grad };
    });
  };
  const loops = facts.map((f) => ({ steps: f.item.hparams.v_num_grad_steps, lr: f.item.hparams.v_lr, weightDecay: f.item.hparams.v_weight_decay, clampNormFactor: f.item.hparams.clamp_norm_factor, initNorm: norm(f.vInit), signal }));
  const found = await optimizeDeltasLockstep(D, loops, evaluate);
  return facts.map((f, i) => ({ vStar: f.vInit.map((v, j) => v + found[i].delta[j]), vInit: f.vInit, steps: found[i].steps }));
}

interface LockstepInputs {
  /** blocks.{fromLayer}.resid_pre at every row's suffix [rows, width, d_model]. */
  readonly resid: Tensor;
  readonly feeds: Record<string, Feed>;
  /** Fact k's rows are rowStart[k] … rowStart[k + 1] − 1 (its KL row last); its scored targets targetStart[k] …; its KL row is kl_rows[k]. */
  readonly rowStart: number[];
  readonly targetStart: number[];
}

/**
 * The graph's inputs for several facts at once: their unedited passes laid side by side as one padded
 * batch (keys and values too), cut to the suffixes (suffixObjective.ts), and each fact's targets and KL
 * row (rewriteObjectiveFeeds) moved to its rows of the shared layout.
 */
function lockstepInputs(model: LoadedModel, facts: readonly FactRows[], fromLayer: number): LockstepInputs {
  const cfg = model.config;
  const D = cfg.d_model;
  const T = Math.max(...facts.map((f) => f.base.acts.get(`blocks.${fromLayer - 1}.resid_post`)!.shape[1]));
  const B = facts.reduce((n, f) => n + f.rows.length, 0);
  const resid = new Float32Array(B * T * D); // [rows, T, d_model]
  const kv = new Map<number, { k: Tensor; v: Tensor }>();
  const H = cfg.n_heads;
  const dh = cfg.d_head;
  for (let l = fromLayer; l < cfg.n_layers; l++) kv.set(l, { k: { shape: [B, H, T, dh], data: new Float32Array(B * H * T * dh) }, v: { shape: [B, H, T, dh], data: new Float32Array(B * H * T * dh) } });
  const rowStart = [0];
  for (const f of facts) {
    const r0 = rowStart[rowStart.length - 1];
    const src = f.base.acts.get(`blocks.${fromLayer - 1}.resid_post`)!; // [rows_f, T_f, d_model]
    const Tf = src.shape[1];
    for (let i = 0; i < f.rows.length; i++) resid.set(src.data.subarray(i * Tf * D, (i + 1) * Tf * D), (r0 + i) * T * D);
    for (let l = fromLayer; l < cfg.n_layers; l++) {
      const from = f.base.kv!.get(l)!; // [rows_f, heads, T_f, d_head]
      for (const which of ['k', 'v'] as const) {
        for (let i = 0; i < f.rows.length; i++) for (let h = 0; h < H; h++) kv.get(l)![which].data.set(from[which].data.subarray((i * H + h) * Tf * dh, ((i * H + h) * Tf + Tf) * dh), ((r0 + i) * H + h) * T * dh);
      }
    }
    rowStart.push(r0 + f.rows.length);
  }
  const lengths = facts.flatMap((f) => f.base.lengths);
  const lookups = facts.flatMap((f) => f.lookups);
  const cut = suffixInputs(cfg, { shape: [B, T, D], data: resid }, lengths, lookups, kv, fromLayer);
  if (!cut) throw new Error('lockstepInputs: a row has no position before its lookup token');
  const W = cut.layout.width;
  // Each fact's objective feeds on its own rows of the shared layout, then offset to where its rows sit.
  const parts = facts.map((f, k) => ({ k, feeds: rewriteObjectiveFeeds(cfg, f.rows, f.lookups, f.item.targetIds, f.base.logits!, f.item.hparams.kl_factor, { starts: f.lookups, width: W }) }));
  const cat = (name: string, offset: (k: number) => number): Feed => {
    const feeds = parts.map((p) => p.feeds[name]);
    const first = feeds[0];
    if ('ids' in first) {
      const ids = BigInt64Array.from(feeds.flatMap((fd, k) => ('ids' in fd ? Array.from(fd.ids, (v) => v + BigInt(offset(k))) : [])));
      return { shape: [ids.length], ids };
    }
    const data = Float32Array.from(feeds.flatMap((fd) => ('data' in fd ? Array.from(fd.data) : [])));
    const rowLen = first.shape.slice(1).reduce((a, b) => a * b, 1);
    return { shape: [data.length / rowLen, ...first.shape.slice(1)], data };
  };
  const rowOffset = (k: number): number => rowStart[k] * W;
  const targetStart = [0];
  for (const p of parts) targetStart.push(targetStart[targetStart.length - 1] + p.feeds[OBJECTIVE_INPUT.targets].shape[0]);
  const feeds: Record<string, Feed> = {
    ...cut.feeds,
    [OBJECTIVE_INPUT.rows]: cat(OBJECTIVE_INPUT.rows, rowOffset),
    [OBJECTIVE_INPUT.targets]: cat(OBJECTIVE_INPUT.targets, () => 0),
    [OBJECTIVE_INPUT.weights]: cat(OBJECTIVE_INPUT.weights, () => 0),
    [OBJECTIVE_INPUT.klRows]: cat(OBJECTIVE_INPUT.klRows, rowOffset),
    [OBJECTIVE_INPUT.klRef]: cat(OBJECTIVE_INPUT.klRef, () => 0),
    [OBJECTIVE_INPUT.klWeights]: cat(OBJECTIVE_INPUT.klWeights, () => 0),
  };
  return { resid: cut.resid, feeds, rowStart, targetStart };
}
