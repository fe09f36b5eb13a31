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
  const cfg = ctx.config;
  const rows0 = past.k.shape[0];
  const hooks = HOOK_SITES.map((site) => ({ site, ...hookTensors(interventions.filter((iv) => iv.site === `blocks.${l}.${site}`), B, n, D) }));
  const cut = tail !== undefined && tail < n;
  const outN = cut ? tail : n;
  const post = act.resid(l, 'resid_post');
  // t0 = 0 feeds an empty past: the same floats as a block without past inputs (graph/segments.ts BLOCK_VARIANTS).
  const session = await ctx.sessions.get(cut ? `block.${l}.tail` : `block.${l}.hooked`);
  // Whole copies of the past's rows per run (the graph tiles the past over them), few enough that the
  // widest intermediate (the MLP's hidden layer, or the attention scores) stays small (runRows).
  const widest = n * Math.max(cfg.d_mlp, cfg.n_heads * (past.k.shape[2] + n));
  const per = Math.max(1, Math.floor(runRows(widest) / rows0)) * rows0;
  const run = async (r0: number, m: number): Promise<Tensor> => {
    const rows = (t: Tensor, width: number): Tensor => ({ shape: [m, ...t.shape.slice(1)], data: t.data.subarray(r0 * width, (r0 + m) * width) });
    const feeds: Record<string, Feed> = {
      ...shared,
      [act.resid(l, 'resid_pre')]: rows(resid, n * D),
      [pastInput(l, 'k')]: past.k,
      [pastInput(l, 'v')]: past.v,
      [PAST_REPEAT]: { shape: [4], ids: BigInt64Array.from([BigInt(m / rows0), 1n, 1n, 1n]) },
      ...(cut ? { [TAIL_START]: { shape: [1], ids: BigInt64Array.of(BigInt(-tail)) } } : {}),
    };
    for (const h of hooks) {
      feeds[hookInput(l, h.site, 'keep')] = rows(h.keep, n);
      feeds[hookInput(l, h.site, 'inject')] = rows(h.inject, n * D);
    }
    return (await session.run(feeds, [post]))[post];
  };
  if (B <= per) return run(0, B);
  const out = new Float32Array(B * outN * D); // [batch, outN, d_model]
  for (let r0 = 0; r0 < B; r0 += per) {
    const m = Math.min(per, B - r0);
    out.set((await run(r0, m)).data, r0 * outN * D);
  }
  return { shape: [B, outN, D], data: out };
}

/**
 * Rows per ORT run whose widest intermediate holds `floatsPerRow` floats each, at most RUN_BYTES in all.
 * Without ORT's arenas (runtime/ort.ts, with the malloc settings) every intermediate is a malloc:
 * up to glibc's 32 MiB mmap threshold it reuses freed heap memory, above it each one is a fresh mapping
 * faulted in and zeroed again (a 480-row trace batch's MLP layer is 59 MB, its head's logits 96 MB).
 * Splitting a batch changes no float: every row is computed on its own.
 */
const RUN_BYTES = 16 * 2 ** 20;
const runRows = (floatsPerRow: number): number => Math.max(1, Math.floor(RUN_BYTES / (4 * floatsPerRow)));

/**
 * Log-probabilities of `ids` at `positions` (relative) of every row of `resid` [batch, n, d]:
 * [batch, positions, ids], with log-softmax over the vocabulary computed inside ORT.
 */
export async function suffixPick(ctx: ForwardContext, resid: Tensor, positions: readonly number[], ids: readonly number[]): Promise<Tensor> {
  const [B, n, D] = resid.shape;
  const R = B * positions.length;
  const rows = new Float32Array(R * D);
  for (let b = 0; b < B; b++) positions.forEach((t, i) => rows.set(resid.data.subarray((b * n + t) * D, (b * n + t + 1) * D), (b * positions.length + i) * D));
  const head = await ctx.sessions.get('unembed');
  const pick = { shape: [ids.length], ids: BigInt64Array.from(ids, BigInt) };
  const picked = new Float32Array(R * ids.length); // [rows, k]
  // The logits and their log-softmax are [rows, d_vocab]: a few hundred rows at a time (runRows).
  const per = runRows(ctx.config.d_vocab);
  for (let r0 = 0; r0 < R; r0 += per) {
    const m = Math.min(per, R - r0);
    const out = await head.run({ 'final.in': { shape: [m, D], data: rows.subarray(r0 * D, (r0 + m) * D) }, [INPUT.pick]: pick }, [PICKED]);
    picked.set(out[PICKED].data, r0 * ids.length);
  }
  return { shape: [B, positions.length, ids.length], data: picked };
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
