import { LocusError } from '../errors';
import { blockFeeds, residualFromEmbeddings } from '../graph/feeds';
import { blockActivations, hasLearnedPositions, HOOK_SITES, hookInput, INPUT, kvName, PAST_REPEAT, pastInput } from '../graph/segments';
import type { ModelConfig } from '../model/config';
import type { ActName } from '../model/names';
import { act, layerOf } from '../model/names';
import type { SessionCache } from '../model/sessions';
import type { Feed } from '../runtime/ort';
import type { Tensor } from '../tensor/tensor';
import type { Intervention } from './interventions';
import { applyInterventions, hookTensors, INTERVENABLE } from './interventions';
import { embedTokens } from './embed';
import type { TableRows } from '../model/mappedWeights';

/** The unembed graph also scores picked ids (suffix.ts suffixPick); callers that want logits feed one id and ignore it. */
export const NO_PICK: Feed = { shape: [1], ids: BigInt64Array.of(0n) };

export interface ForwardOptions {
  /** Activations to return, [batch, pos, d] each (rows right-padded to the longest prompt). */
  readonly fetch?: readonly ActName[];
  readonly interventions?: readonly Intervention[];
  /** `last` (default): logits at each row's last real token, [batch, d_vocab]; `all`: [batch, pos, d_vocab]; `none`. */
  readonly logits?: 'last' | 'all' | 'none';
  readonly signal?: AbortSignal;
  /** Return every layer's attention keys and values (for later suffix runs). */
  readonly keysValues?: boolean;
  /**
   * Each row's own positions whose logits are returned (rows are right-padded), concatenated in row
   * order: [Σ positions, d_vocab]. Overrides `logits`: scoring reads a few positions per row, and the
   * head over the whole vocabulary at every position cost more than the blocks (issue 17).
   */
  readonly logitsAt?: readonly (readonly number[])[];
}

export interface ForwardResult {
  /** Real (unpadded) length of each row. */
  readonly lengths: readonly number[];
  readonly acts: ReadonlyMap<ActName, Tensor>;
  readonly logits?: Tensor;
  /** With `keysValues`: each layer's attention keys (after rotary) and values, [batch, n_heads, pos, d_head]. */
  readonly kv?: ReadonlyMap<number, { k: Tensor; v: Tensor }>;
}

export interface ForwardContext {
  readonly config: ModelConfig;
  readonly sessions: SessionCache;
  readonly padId: number;
  /** Embedding rows read from the file (a lean model's mapped tables: interp/embed.ts). */
  readonly tables?: TableRows;
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new LocusError('cancelled', 'cancelled');
}

/** Right-pads rows with `padId`: with causal attention no real token attends to a pad, so results are exact. */
function padBatch(batch: readonly (readonly number[])[], padId: number, cfg: ModelConfig): { ids: BigInt64Array; positions: BigInt64Array; pos: number } {
  const pos = Math.max(...batch.map((r) => r.length));
  batch.forEach((row, i) => {
    if (row.length === 0) throw new LocusError('bad-input', `prompt ${i} is empty: give at least one token`);
    if (row.length > cfg.n_ctx) {
      throw new LocusError('bad-input', `prompt ${i} has ${row.length} tokens; the model's context window is ${cfg.n_ctx}`);
    }
  });
  const ids = new BigInt64Array(batch.length * pos).fill(BigInt(padId));
  const positions = new BigInt64Array(batch.length * pos);
  batch.forEach((row, b) => {
    row.forEach((id, t) => (ids[b * pos + t] = BigInt(id)));
    for (let t = 0; t < pos; t++) positions[b * pos + t] = BigInt(t);
  });
  return { ids, positions, pos };
}

/** Past keys/values of length 0 for block `l` of a batch of B rows ([1, n_kv_heads, 0, d_head], tiled B times). */
function emptyPast(cfg: ModelConfig, l: number, B: number): Record<string, Feed> {
  const none: Tensor = { shape: [1, cfg.n_kv_heads, 0, cfg.d_head], data: new Float32Array(0) };
  return { [pastInput(l, 'k')]: none, [pastInput(l, 'v')]: none, [PAST_REPEAT]: { shape: [4], ids: BigInt64Array.from([BigInt(B), 1n, 1n, 1n]) } };
}

/** Gathers rows (b, t) of a [batch, pos, d] tensor into [n, d]. */
function gatherRows(x: Tensor, cells: readonly [number, number][]): Tensor {
  const [, pos, d] = x.shape;
  const out = new Float32Array(cells.length * d);
  cells.forEach(([b, t], i) => out.set(x.data.subarray((b * pos + t) * d, (b * pos + t + 1) * d), i * d));
  return { shape: [cells.length, d], data: out };
}

function validateInterventions(cfg: ModelConfig, ivs: readonly Intervention[]): void {
  for (const iv of ivs) {
    if (!INTERVENABLE.test(iv.site) || (layerOf(iv.site) ?? 0) >= cfg.n_layers) {
      throw new LocusError('bad-input', `cannot intervene at ${iv.site}; sites: embed, blocks.{l}.resid_pre|resid_post|attn.out|mlp.out with l < ${cfg.n_layers}`);
    }
  }
}

/**
 * Runs the network segment by segment: embed → blocks → final norm + unembedding, applying
 * interventions between segments (and, for attn.out / mlp.out, through a block's hook inputs).
 */
export async function forward(ctx: ForwardContext, batch: readonly (readonly number[])[], opts: ForwardOptions = {}): Promise<ForwardResult> {
  const { config: cfg, sessions } = ctx;
  const ivs = opts.interventions ?? [];
  validateInterventions(cfg, ivs);
  const fetch = new Set(opts.fetch ?? []);
  const { ids, positions, pos } = padBatch(batch, ctx.padId, cfg);
  const B = batch.length;
  checkAborted(opts.signal);
  const learned = hasLearnedPositions(cfg);
  const embedOut = embedTokens(sessions.params, ids, learned ? positions : undefined, B, pos, ctx.tables);
  const embed = applyInterventions(embedOut.embed, ivs.filter((iv) => iv.site === act.embed));
  const acts = new Map<ActName, Tensor>();
  if (fetch.has(act.embed)) acts.set(act.embed, embed);
  if (learned && fetch.has(act.posEmbed)) acts.set(act.posEmbed, embedOut.posEmbed!);
  const resid = residualFromEmbeddings(cfg, embed, embedOut.posEmbed);
  const rest = await forwardFrom(ctx, 0, resid, batch.map((r) => r.length), opts as FromOptions);
  for (const [k, v] of rest.acts) acts.set(k, v);
  return { ...rest, acts };
}

export interface FromOptions extends ForwardOptions {
  /** Score these positions' logits (same for every row) instead of each row's last: [batch, positions, d_vocab]. */
  readonly logitPositions?: readonly number[];
}

/**
 * Runs blocks `fromLayer`..L−1 and the head on `resid` = blocks.{fromLayer}.resid_pre [batch, pos, d_model]
 * (fromLayer = n_layers runs the head alone). Causal Tracing starts each restored run here, at the
 * first layer the restoration changes, instead of re-running the layers below.
 */
export async function forwardFrom(ctx: ForwardContext, fromLayer: number, resid: Tensor, lengths: readonly number[], opts: FromOptions = {}): Promise<ForwardResult> {
  const { config: cfg, sessions } = ctx;
  const fetch = new Set(opts.fetch ?? []);
  const ivs = opts.interventions ?? [];
  validateInterventions(cfg, ivs);
  const at = (site: ActName): Intervention[] => ivs.filter((iv) => iv.site === site);
  const [B, pos] = resid.shape;
  const acts = new Map<ActName, Tensor>();
  const kv = new Map<number, { k: Tensor; v: Tensor }>();
  const keep = (name: ActName, t: Tensor): void => {
    if (fetch.has(name)) acts.set(name, t);
  };
  const shared = blockFeeds(cfg, 0, pos);
  for (let l = fromLayer; l < cfg.n_layers; l++) {
    checkAborted(opts.signal);
    const preName = act.resid(l, 'resid_pre');
    resid = applyInterventions(resid, at(preName));
    keep(preName, resid);
    const inner = blockActivations(cfg, l).filter((n) => n !== act.resid(l, 'resid_post'));
    const hooked = HOOK_SITES.filter((s) => at(`blocks.${l}.${s}`).length > 0);
    const full = hooked.length > 0 || inner.some((n) => fetch.has(n)) || opts.keysValues === true;
    const feeds: Record<string, Feed> = { ...shared, [preName]: resid };
    if (full) {
      // The hooked variant also attends to earlier positions' keys/values: none here (an empty past).
      Object.assign(feeds, emptyPast(cfg, l, B));
      for (const site of HOOK_SITES) {
        const h = hookTensors(at(`blocks.${l}.${site}`), B, pos, cfg.d_model);
        feeds[hookInput(l, site, 'keep')] = h.keep;
        feeds[hookInput(l, site, 'inject')] = h.inject;
      }
    }
    const postName = act.resid(l, 'resid_post');
    const wanted: string[] = full ? [...inner.filter((n) => fetch.has(n)), postName] : [postName];
    if (opts.keysValues) wanted.push(kvName(l, 'k'), kvName(l, 'v'));
    // One hooked variant serves hooks, activations and keys/values (graph/segments.ts BLOCK_VARIANTS).
    const variant = full ? 'hooked' : 'lean';
    const out = await (await sessions.get(`block.${l}.${variant}`)).run(feeds, wanted);
    for (const n of inner) if (out[n]) keep(n, out[n]);
    if (opts.keysValues) kv.set(l, { k: out[kvName(l, 'k')], v: out[kvName(l, 'v')] });
    resid = applyInterventions(out[postName], at(postName));
    keep(postName, resid);
  }

  const mode = opts.logitsAt ? 'cells' : opts.logitPositions ? 'positions' : (opts.logits ?? 'last');
  if (mode === 'none' && !fetch.has(act.lnFinal)) return { lengths, acts, kv };
  checkAborted(opts.signal);
  const cells: [number, number][] = [];
  for (let b = 0; b < B; b++) {
    if (mode === 'last' || mode === 'none') cells.push([b, lengths[b] - 1]);
    else if (mode === 'positions') for (const t of opts.logitPositions!) cells.push([b, t]);
    else if (mode === 'cells') {
      for (const t of opts.logitsAt![b] ?? []) {
        if (!(t >= 0 && t < lengths[b])) throw new LocusError('bad-input', `row ${b} has ${lengths[b]} tokens: no logits at position ${t}`);
        cells.push([b, t]);
      }
    }
    else for (let t = 0; t < pos; t++) cells.push([b, t]);
  }
  const head = await (await sessions.get('unembed')).run({ 'final.in': gatherRows(resid, cells), [INPUT.pick]: NO_PICK }, [act.lnFinal, act.logits]);
  const rowsShape = mode === 'last' || mode === 'none' ? [B] : mode === 'cells' ? [cells.length] : [B, cells.length / B];
  if (fetch.has(act.lnFinal)) acts.set(act.lnFinal, { shape: [...rowsShape, cfg.d_model], data: head[act.lnFinal].data });
  const logits = mode === 'none' ? undefined : { shape: [...rowsShape, cfg.d_vocab], data: head[act.logits].data };
  return { lengths, acts, logits, kv };
}
