import { LocusError } from '../errors';
import { blockFeeds } from '../graph/feeds';
import { HOOK_SITES, hookInput, INPUT, PAST_REPEAT, pastInput, PICKED, TAIL_START } from '../graph/segments';
import { act } from '../model/names';
import type { Feed } from '../runtime/ort';
import type { Tensor } from '../tensor/tensor';
import { NO_PICK } from './forward';
import type { ForwardContext } from './forward';
import type { Intervention } from './interventions';
import { applyInterventions, hookTensors } from './interventions';

/** The per-call inputs of suffix blocks: the [n, t0 + n] mask and, for rotary models, the tables of positions t0 … t0+n−1. */
export function suffixInputs(cfg: ForwardContext['config'], t0: number, n: number): Record<string, Feed> {
  return blockFeeds(cfg, t0, n);
}

/**
 * One block on positions t0 … t0+n−1 of `resid` [batch, n, d_model], attending to `past` keys/values
 * [rows0, n_kv_heads, t0, d_head] of the earlier positions, where batch = copies × rows0 and row
 * c·rows0 + r uses past row r (the graph tiles them). `interventions` have positions relative to t0
 * and act at this block's attn.out / mlp.out. Returns resid_post [batch, n, d_model], or with `tail`
 * (< n) only its last `tail` positions, [batch, tail, d_model] (the block's tail variant: the same
 * keys and values, no work for outputs nobody reads).
 */
export async function suffixBlock(ctx: ForwardContext, l: number, resid: Tensor, shared: Record<string, Feed>, past: { k: Tensor; v: Tensor }, interventions: readonly Intervention[], tail?: number): Promise<Tensor> {
  const [B, n, D] = resid.shape;
  const pre = act.resid(l, 'resid_pre');
  const copies = B / past.k.shape[0];
  const feeds: Record<string, Feed> = {
    ...shared,
    [pre]: resid,
    [pastInput(l, 'k')]: past.k,
    [pastInput(l, 'v')]: past.v,
    [PAST_REPEAT]: { shape: [4], ids: BigInt64Array.from([BigInt(copies), 1n, 1n, 1n]) },
  };
  for (const site of HOOK_SITES) {
    const h = hookTensors(interventions.filter((iv) => iv.site === `blocks.${l}.${site}`), B, n, D);
    feeds[hookInput(l, site, 'keep')] = h.keep;
    feeds[hookInput(l, site, 'inject')] = h.inject;
  }
  const post = act.resid(l, 'resid_post');
  if (tail !== undefined && tail < n) {
    feeds[TAIL_START] = { shape: [1], ids: BigInt64Array.of(BigInt(-tail)) };
    return (await (await ctx.sessions.get(`block.${l}.tail`)).run(feeds, [post]))[post];
  }
  // t0 = 0 feeds an empty past: the same floats as a block without past inputs (graph/segments.ts BLOCK_VARIANTS).
  return (await (await ctx.sessions.get(`block.${l}.hooked`)).run(feeds, [post]))[post];
}

/**
 * Log-probabilities of `ids` at `positions` (relative) of every row of `resid` [batch, n, d]:
 * [batch, positions, ids], with log-softmax over the vocabulary computed inside ORT.
 */
export async function suffixPick(ctx: ForwardContext, resid: Tensor, positions: readonly number[], ids: readonly number[]): Promise<Tensor> {
  const [B, n, D] = resid.shape;
  const rows = new Float32Array(B * positions.length * D);
  for (let b = 0; b < B; b++) positions.forEach((t, i) => rows.set(resid.data.subarray((b * n + t) * D, (b * n + t + 1) * D), (b * positions.length + i) * D));
  const out = await (await ctx.sessions.get('unembed')).run({ 'final.in': { shape: [B * positions.length, D], data: rows }, [INPUT.pick]: { shape: [ids.length], ids: BigInt64Array.from(ids, BigInt) } }, [PICKED]);
  return { shape: [B, positions.length, ids.length], data: out[PICKED].data };
}

/** Final norm + unembedding at `positions` (relative) of every row of `resid` [batch, n, d]: [batch, positions, d_vocab]. */
export async function suffixHead(ctx: ForwardContext, resid: Tensor, positions: readonly number[]): Promise<Tensor> {
  const [B, n, D] = resid.shape;
  const rows = new Float32Array(B * positions.length * D);
  for (let b = 0; b < B; b++) positions.forEach((t, i) => rows.set(resid.data.subarray((b * n + t) * D, (b * n + t + 1) * D), (b * positions.length + i) * D));
  const head = await (await ctx.sessions.get('unembed')).run({ 'final.in': { shape: [B * positions.length, D], data: rows }, [INPUT.pick]: NO_PICK }, [act.logits]);
  return { shape: [B, positions.length, ctx.config.d_vocab], data: head[act.logits].data };
}

export interface SuffixRun {
  /** blocks.{fromLayer}.resid_pre at positions t0 … t0+n−1: [batch, n, d_model]. */
  readonly resid: Tensor;
  readonly t0: number;
  /** Keys and values of positions 0 … t0−1 at layer l: [rows0, n_kv_heads, t0, d_head] each (batch = copies × rows0). */
  readonly past: (layer: number) => { k: Tensor; v: Tensor };
  /** Interventions with absolute positions (all ≥ t0). */
  readonly interventions: readonly Intervention[];
  /** Absolute positions whose logits are returned: [batch, positions, d_vocab]. */
  readonly logitPositions: readonly number[];
  readonly signal?: AbortSignal;
}

/**
 * Runs blocks fromLayer … L−1 and the head on the positions t0 … end only, attending to earlier
 * positions through their cached keys and values. Exact for any change confined to positions ≥ t0:
 * under causal attention the states before t0 cannot see it.
 */
export async function forwardSuffix(ctx: ForwardContext, fromLayer: number, run: SuffixRun): Promise<Tensor> {
  const { t0 } = run;
  const [, n] = run.resid.shape;
  const shifted = run.interventions.map((iv) => ({ ...iv, positions: iv.positions.map((p) => p - t0) }));
  const at = (site: string): Intervention[] => shifted.filter((iv) => iv.site === site);
  const shared = suffixInputs(ctx.config, t0, n);
  let resid = run.resid;
  for (let l = fromLayer; l < ctx.config.n_layers; l++) {
    if (run.signal?.aborted) throw new LocusError('cancelled', 'cancelled');
    resid = applyInterventions(resid, at(act.resid(l, 'resid_pre')));
    resid = await suffixBlock(ctx, l, resid, shared, run.past(l), shifted);
    resid = applyInterventions(resid, at(act.resid(l, 'resid_post')));
  }
  return suffixHead(ctx, resid, run.logitPositions.map((p) => p - t0));
}

/** Rows 0 … t0−1 along the position axis of a [rows, n_heads, pos, d_head] tensor, tiled `copies` times along the batch. */
export function pastSlice(x: Tensor, t0: number, copies: number): Tensor {
  const [R, H, T, dh] = x.shape;
  const out = new Float32Array(copies * R * H * t0 * dh);
  let o = 0;
  for (let c = 0; c < copies; c++) {
    for (let r = 0; r < R; r++) {
      for (let h = 0; h < H; h++) {
        const src = (r * H + h) * T * dh;
        out.set(x.data.subarray(src, src + t0 * dh), o);
        o += t0 * dh;
      }
    }
  }
  return { shape: [copies * R, H, t0, dh], data: out };
}
