/**
 * Incremental decoding with a key/value cache: the prompts once, then one position per row and step,
 * attending to the cached keys and values of the row's earlier positions (HF's past_key_values;
 * ROME's generate_fast does the same with `past_key_values`). A step without the cache re-ran every
 * earlier position of every row: for short continuations that was most of `locus edit`'s
 * generation time (issue 17).
 *
 * Rows of different lengths: the block graphs take one causal mask for the whole batch, so one run
 * covers a window of positions t0 … t0+n−1 shared by its rows: each row recomputes its positions from
 * t0 on (right-padded, as a full forward pass pads), attending to its cached positions before t0.
 * Rows are split into runs by length (planWindows): a run of every block reads every weight once
 * (a few ms per block on GPT-2 small, whatever the rows), so many one-position runs cost more than a
 * few padded ones. Each row still sees exactly its own positions, as with right padding.
 */
import { LocusError } from '../errors';
import { blockFeeds, residualFromEmbeddings } from '../graph/feeds';
import { hasLearnedPositions, HOOK_SITES, hookInput, INPUT, kvName, PAST_REPEAT, pastInput } from '../graph/segments';
import { act } from '../model/names';
import type { Feed } from '../runtime/ort';
import type { Tensor } from '../tensor/tensor';
import { embedTokens } from './embed';
import { NO_PICK } from './forward';
import type { ForwardContext } from './forward';
import { hookTensors } from './interventions';

/**
 * What one run of every block costs, in positions of one row (GPT-2 small, lean weights, 2 threads:
 * ~55 ms per run of the 12 blocks, ~1.5 ms per position; measured with bench/edit.ts's process).
 */
export const RUN_COST_POSITIONS = 32;

/** One row's tokens, and its keys (after rotary) and values per layer, [n_kv_heads, capacity, d_head] each, for positions 0 … cached−1. */
interface RowCache {
  readonly k: Float32Array[];
  readonly v: Float32Array[];
  readonly capacity: number;
  readonly tokens: number[];
  cached: number;
}

/** A run: rows (indices into a call's list) recomputing positions t0 … t0+n−1. */
export interface Window {
  readonly members: number[];
  readonly t0: number;
  readonly n: number;
}

/**
 * Splits rows with `cached` positions cached and `length` tokens into runs of rows adjacent in
 * cached length, minimising Σ (RUN_COST_POSITIONS + rows × window length): dynamic programming over
 * the rows sorted by cached length (each run starts at its first row's cached length).
 */
export function planWindows(cached: readonly number[], length: readonly number[], runCost = RUN_COST_POSITIONS): Window[] {
  const order = cached.map((_, i) => i).sort((a, b) => cached[a] - cached[b] || a - b);
  const R = order.length;
  const best = new Float64Array(R + 1);
  const from = new Int32Array(R + 1);
  for (let j = 1; j <= R; j++) {
    best[j] = Infinity;
    let maxLen = 0;
    for (let i = j; i >= 1; i--) {
      maxLen = Math.max(maxLen, length[order[i - 1]]);
      const cost = best[i - 1] + runCost + (j - i + 1) * (maxLen - cached[order[i - 1]]);
      if (cost <= best[j]) [best[j], from[j]] = [cost, i - 1]; // ties: the longer run (fewer runs)
    }
  }
  const windows: Window[] = [];
  for (let j = R; j > 0; j = from[j]) {
    const members = order.slice(from[j], j);
    const t0 = cached[members[0]];
    windows.unshift({ members, t0, n: Math.max(...members.map((m) => length[m])) - t0 });
  }
  return windows;
}

export class IncrementalDecoder {
  private constructor(
    private readonly ctx: ForwardContext,
    private readonly rows: RowCache[],
  ) {}

  /** Empty rows with room for `capacities[r]` positions each (a row's maximum length, prompt included; at most n_ctx). */
  static create(ctx: ForwardContext, capacities: readonly number[]): IncrementalDecoder {
    const { n_layers, n_kv_heads, d_head, n_ctx } = ctx.config;
    const rows = capacities.map((c): RowCache => {
      const capacity = Math.min(c, n_ctx);
      const layer = (): Float32Array[] => Array.from({ length: n_layers }, () => new Float32Array(n_kv_heads * capacity * d_head));
      return { k: layer(), v: layer(), capacity, tokens: [], cached: 0 };
    });
    return new IncrementalDecoder(ctx, rows);
  }

  /** Row r's tokens so far. */
  tokens(r: number): readonly number[] {
    return this.rows[r].tokens;
  }

  /**
   * Appends `tokens[i]` (one or more ids) to row `rows[i]` (each row at most once) and returns the
   * logits after each row's last token: [rows.length, d_vocab], in the order given.
   */
  async extend(rows: readonly number[], tokens: readonly (readonly number[])[], signal?: AbortSignal): Promise<Tensor> {
    const { d_model: D, n_ctx } = this.ctx.config;
    rows.forEach((r, i) => {
      const row = this.rows[r];
      const length = row.tokens.length + tokens[i].length;
      if (length === 0) throw new LocusError('bad-input', `prompt ${r} is empty: give at least one token`);
      if (length > n_ctx) throw new LocusError('bad-input', `prompt ${r} has ${length} tokens; the model's context window is ${n_ctx}`);
      if (length > row.capacity) throw new Error(`decoder row ${r} holds ${row.capacity} positions, not ${length}`);
      row.tokens.push(...tokens[i]);
    });
    const last = new Float32Array(rows.length * D); // [rows, d_model]: ln_final's input at each row's last token
    const windows = planWindows(rows.map((r) => this.rows[r].cached), rows.map((r) => this.rows[r].tokens.length));
    for (const w of windows) {
      if (signal?.aborted) throw new LocusError('cancelled', 'cancelled');
      const resid = await this.run(w.t0, w.n, w.members.map((i) => rows[i])); // [members, d_model]
      w.members.forEach((i, g) => last.set(resid.subarray(g * D, (g + 1) * D), i * D));
    }
    const head = await (await this.ctx.sessions.get('unembed')).run({ 'final.in': { shape: [rows.length, D], data: last }, [INPUT.pick]: NO_PICK }, [act.logits]);
    return { shape: [rows.length, this.ctx.config.d_vocab], data: head[act.logits].data };
  }

  /**
   * Every block on positions t0 … t0+n−1 of `rows` (each cached up to at least t0; tokens right-padded),
   * attending to their cached positions before t0; caches the new keys and values. Returns the last
   * block's output at each row's last token, [rows, d_model].
   */
  private async run(t0: number, n: number, rows: readonly number[]): Promise<Float32Array> {
    const { config: cfg, sessions } = this.ctx;
    const G = rows.length;
    const D = cfg.d_model;
    const ids = new BigInt64Array(G * n).fill(BigInt(this.ctx.padId));
    rows.forEach((r, g) => this.rows[r].tokens.slice(t0, t0 + n).forEach((id, j) => (ids[g * n + j] = BigInt(id))));
    const positions = hasLearnedPositions(cfg) ? BigInt64Array.from({ length: G * n }, (_, i) => BigInt(t0 + (i % n))) : undefined;
    const emb = embedTokens(sessions.params, ids, positions, G, n, this.ctx.tables);
    let resid = residualFromEmbeddings(cfg, emb.embed, emb.posEmbed); // [rows, n, d_model]
    const shared = blockFeeds(cfg, t0, n); // mask [n, t0 + n] (and rotary tables of t0 … t0+n−1)
    const hooks = hookTensors([], G, n, D); // keep 1, inject 0: no patch
    for (let l = 0; l < cfg.n_layers; l++) {
      const pre = act.resid(l, 'resid_pre');
      const post = act.resid(l, 'resid_post');
      const feeds: Record<string, Feed> = {
        ...shared,
        [pre]: resid,
        [pastInput(l, 'k')]: this.past(rows, l, 'k', t0), // [rows, n_kv_heads, t0, d_head]
        [pastInput(l, 'v')]: this.past(rows, l, 'v', t0),
        [PAST_REPEAT]: { shape: [4], ids: BigInt64Array.of(1n, 1n, 1n, 1n) },
      };
      for (const site of HOOK_SITES) {
        feeds[hookInput(l, site, 'keep')] = hooks.keep;
        feeds[hookInput(l, site, 'inject')] = hooks.inject;
      }
      const got = await (await sessions.get(`block.${l}.hooked`)).run(feeds, [post, kvName(l, 'k'), kvName(l, 'v')]);
      this.store(rows, l, t0, got[kvName(l, 'k')], got[kvName(l, 'v')]); // [rows, n_kv_heads, n, d_head] each
      resid = got[post]; // [rows, n, d_model]
    }
    const out = new Float32Array(G * D);
    rows.forEach((r, g) => {
      const t = this.rows[r].tokens.length - 1 - t0;
      out.set(resid.data.subarray((g * n + t) * D, (g * n + t + 1) * D), g * D);
      this.rows[r].cached = this.rows[r].tokens.length;
    });
    return out;
  }

  /** Positions 0 … t0−1 of `rows`' layer-l keys or values: [rows, n_kv_heads, t0, d_head]. */
  private past(rows: readonly number[], l: number, which: 'k' | 'v', t0: number): Tensor {
    const [H, dh] = [this.ctx.config.n_kv_heads, this.ctx.config.d_head];
    const out = new Float32Array(rows.length * H * t0 * dh);
    rows.forEach((r, g) => {
      const { capacity } = this.rows[r];
      const src = this.rows[r][which][l];
      for (let h = 0; h < H; h++) out.set(src.subarray(h * capacity * dh, (h * capacity + t0) * dh), (g * H + h) * t0 * dh);
    });
    return { shape: [rows.length, H, t0, dh], data: out };
  }

  /** Writes each row's real positions among t0 … t0+n−1 from keys and values [rows, n_kv_heads, n, d_head] into its cache. */
  private store(rows: readonly number[], l: number, t0: number, k: Tensor, v: Tensor): void {
    const [, H, n, dh] = k.shape;
    rows.forEach((r, g) => {
      const { capacity, tokens } = this.rows[r];
      const real = Math.min(n, tokens.length - t0);
      for (let h = 0; h < H; h++) {
        const src = (g * H + h) * n * dh;
        this.rows[r].k[l].set(k.data.subarray(src, src + real * dh), (h * capacity + t0) * dh);
        this.rows[r].v[l].set(v.data.subarray(src, src + real * dh), (h * capacity + t0) * dh);
      }
    });
  }
}
