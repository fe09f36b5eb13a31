/**
 * Incremental decoding with a key/value cache: each token's keys and values are computed once, and a
 * step runs only the new tokens, attending to cached ones (HF's past_key_values; ROME's generate_fast
 * does the same). A step without the cache re-ran every earlier position of every row: for short
 * continuations that was most of `locus edit`'s generation time (issue 17).
 *
 * Rows of different lengths, one run: every row's tokens live in one flat sequence (one batch row),
 * and the additive attention mask, an input of the block graphs, lets each new token see exactly its
 * own row's tokens, which may sit anywhere in the sequence (a block-diagonal causal mask; a forked
 * row shares its parent's prefix). Positions are each token's position in its own row (learned
 * position embeddings are added before the blocks; rotary tables are fed per token). Masked keys get
 * −1e9 like the causal mask of a right-padded forward pass, so each row sees what it saw there.
 * One run per step matters: a run of every block reads every weight once (a few ms per block on
 * GPT-2 small, whatever the number of tokens).
 */
import { LocusError } from '../errors';
import { rotaryTablesAt } from '../graph/attention';
import { blockFeeds, residualFromEmbeddings } from '../graph/feeds';
import { hasLearnedPositions, HOOK_SITES, hookInput, INPUT, kvName, PAST_REPEAT, pastInput } from '../graph/segments';
import { act } from '../model/names';
import type { Feed } from '../runtime/ort';
import type { Tensor } from '../tensor/tensor';
import { embedTokens } from './embed';
import { NO_PICK } from './forward';
import type { ForwardContext } from './forward';
import { hookTensors } from './interventions';

/** −1e9, as graph/attention.ts causalMask: exp underflows to exactly 0 after the max is subtracted. */
const MASKED = -1e9;

/** A row: its tokens and, for each, the slot of the flat sequence holding its keys and values. */
interface Row {
  readonly tokens: number[];
  readonly slots: number[];
}

export class IncrementalDecoder {
  private readonly rows: Row[] = [];
  /** Per layer, keys (after rotary) and values of the flat sequence, [n_kv_heads, capacity, d_head]. */
  private k: Float32Array[];
  private v: Float32Array[];
  private capacity = 0;
  private used = 0;

  constructor(private readonly ctx: ForwardContext) {
    this.k = Array.from({ length: ctx.config.n_layers }, () => new Float32Array(0));
    this.v = Array.from({ length: ctx.config.n_layers }, () => new Float32Array(0));
  }

  /** A new row: empty, or sharing the first `prefix` tokens (default all) of row `parent` without recomputing them. Returns its index. */
  addRow(parent?: number, prefix?: number): number {
    const p = parent === undefined ? undefined : this.rows[parent];
    const n = p ? (prefix ?? p.tokens.length) : 0;
    this.rows.push({ tokens: p ? p.tokens.slice(0, n) : [], slots: p ? p.slots.slice(0, n) : [] });
    return this.rows.length - 1;
  }

  /** The model this decoder runs. */
  get context(): ForwardContext {
    return this.ctx;
  }

  /** Row r's tokens so far. */
  tokens(r: number): readonly number[] {
    return this.rows[r].tokens;
  }

  /**
   * Appends `tokens[i]` (one or more ids) to row `rows[i]` (each row at most once) and returns the
   * logits after each row's last token, [rows.length, d_vocab] in the order given; with `all`, the
   * logits at every appended token instead, [Σ appended, d_vocab] in the same order.
   */
  async extend(rows: readonly number[], tokens: readonly (readonly number[])[], opts: { all?: boolean; signal?: AbortSignal } = {}): Promise<Tensor> {
    const { config: cfg, sessions } = this.ctx;
    if (opts.signal?.aborted) throw new LocusError('cancelled', 'cancelled');
    const S = this.used;
    const fresh: Array<{ row: number; t: number }> = []; // the new tokens, in row order: each one's row and position
    rows.forEach((r, i) => {
      const row = this.rows[r];
      const length = row.tokens.length + tokens[i].length;
      if (length === 0) throw new LocusError('bad-input', `prompt ${r} is empty: give at least one token`);
      if (length > cfg.n_ctx) throw new LocusError('bad-input', `prompt ${r} has ${length} tokens; the model's context window is ${cfg.n_ctx}`);
      if (tokens[i].length === 0 && !opts.all) throw new Error(`decoder row ${r}: no new token to read logits at`);
      if (cfg.arch.slidingWindow !== undefined) blockFeeds(cfg, 0, length); // refuses a row longer than the window (Mistral), as a forward pass does
      tokens[i].forEach((id) => {
        fresh.push({ row: r, t: row.tokens.length });
        row.slots.push(S + fresh.length - 1);
        row.tokens.push(id);
      });
    });
    const n = fresh.length;
    this.reserve(S + n);
    const resid = await this.runBlocks(fresh, S); // [1, n, d_model]
    // Where logits are read: each row's last new token, or all of them.
    const read: number[] = [];
    let at = 0;
    rows.forEach((_, i) => {
      if (opts.all) for (let j = 0; j < tokens[i].length; j++) read.push(at + j);
      else read.push(at + tokens[i].length - 1);
      at += tokens[i].length;
    });
    const D = cfg.d_model;
    const x = new Float32Array(read.length * D); // [read, d_model]
    read.forEach((j, i) => x.set(resid.data.subarray(j * D, (j + 1) * D), i * D));
    const head = await (await sessions.get('unembed')).run({ 'final.in': { shape: [read.length, D], data: x }, [INPUT.pick]: NO_PICK }, [act.logits]);
    return { shape: [read.length, cfg.d_vocab], data: head[act.logits].data };
  }

  /** Every block on the new tokens (flat slots S … S+n−1) against slots 0 … S−1; caches their keys and values. */
  private async runBlocks(fresh: ReadonlyArray<{ row: number; t: number }>, S: number): Promise<Tensor> {
    const { config: cfg, sessions } = this.ctx;
    const n = fresh.length;
    const D = cfg.d_model;
    const ids = BigInt64Array.from(fresh, (f) => BigInt(this.rows[f.row].tokens[f.t]));
    const positions = hasLearnedPositions(cfg) ? BigInt64Array.from(fresh, (f) => BigInt(f.t)) : undefined;
    const emb = embedTokens(sessions.params, ids, positions, 1, n, this.ctx.tables);
    let resid = residualFromEmbeddings(cfg, emb.embed, emb.posEmbed); // [1, n, d_model]
    const shared: Record<string, Feed> = { [INPUT.mask]: { shape: [n, S + n], data: this.mask(fresh, S) } };
    const rot = cfg.arch.rotary;
    if (rot) {
      const cos = new Float32Array(n * cfg.d_head);
      const sin = new Float32Array(n * cfg.d_head);
      fresh.forEach((f, i) => {
        const at = rotaryTablesAt(rot, cfg.d_head, f.t, 1);
        cos.set(at.cos, i * cfg.d_head);
        sin.set(at.sin, i * cfg.d_head);
      });
      shared[INPUT.cos] = { shape: [n, 1, cfg.d_head], data: cos };
      shared[INPUT.sin] = { shape: [n, 1, cfg.d_head], data: sin };
    }
    const hooks = hookTensors([], 1, n, D); // keep 1, inject 0: no patch
    for (let l = 0; l < cfg.n_layers; l++) {
      const pre = act.resid(l, 'resid_pre');
      const post = act.resid(l, 'resid_post');
      const feeds: Record<string, Feed> = {
        ...shared,
        [pre]: resid,
        [pastInput(l, 'k')]: this.past(this.k[l], S), // [1, n_kv_heads, S, d_head]
        [pastInput(l, 'v')]: this.past(this.v[l], S),
        [PAST_REPEAT]: { shape: [4], ids: BigInt64Array.of(1n, 1n, 1n, 1n) },
      };
      for (const site of HOOK_SITES) {
        feeds[hookInput(l, site, 'keep')] = hooks.keep;
        feeds[hookInput(l, site, 'inject')] = hooks.inject;
      }
      const got = await (await sessions.get(`block.${l}.hooked`)).run(feeds, [post, kvName(l, 'k'), kvName(l, 'v')]);
      this.store(this.k[l], got[kvName(l, 'k')], S); // [1, n_kv_heads, n, d_head]
      this.store(this.v[l], got[kvName(l, 'v')], S);
      resid = got[post]; // [1, n, d_model]
    }
    this.used = S + n;
    return resid;
  }

  /** [n, S + n]: new token i sees its row's tokens up to itself (their slots), nothing else. */
  private mask(fresh: ReadonlyArray<{ row: number; t: number }>, S: number): Float32Array {
    const keys = S + fresh.length;
    const m = new Float32Array(fresh.length * keys).fill(MASKED);
    fresh.forEach((f, i) => {
      const slots = this.rows[f.row].slots;
      for (let t = 0; t <= f.t; t++) m[i * keys + slots[t]] = 0;
    });
    return m;
  }

  /** Slots 0 … S−1 of a layer's cache: [1, n_kv_heads, S, d_head]. */
  private past(cache: Float32Array, S: number): Tensor {
    const { n_kv_heads: H, d_head: dh } = this.ctx.config;
    const out = new Float32Array(H * S * dh);
    for (let h = 0; h < H; h++) out.set(cache.subarray(h * this.capacity * dh, (h * this.capacity + S) * dh), h * S * dh);
    return { shape: [1, H, S, dh], data: out };
  }

  /** Writes a run's keys or values [1, n_kv_heads, n, d_head] at slots S … S+n−1. */
  private store(cache: Float32Array, x: Tensor, S: number): void {
    const [, H, n, dh] = x.shape;
    for (let h = 0; h < H; h++) cache.set(x.data.subarray(h * n * dh, (h + 1) * n * dh), (h * this.capacity + S) * dh);
  }

  /** Room for `slots` slots in every layer's cache (doubling, copying the used slots). */
  private reserve(slots: number): void {
    if (slots <= this.capacity) return;
    const { n_kv_heads: H, d_head: dh } = this.ctx.config;
    const capacity = Math.max(slots, 2 * this.capacity, 64);
    const grow = (old: Float32Array): Float32Array => {
      const out = new Float32Array(H * capacity * dh);
      for (let h = 0; h < H; h++) out.set(old.subarray(h * this.capacity * dh, (h * this.capacity + this.used) * dh), h * capacity * dh);
      return out;
    };
    this.k = this.k.map(grow);
    this.v = this.v.map(grow);
    this.capacity = capacity;
  }
}
