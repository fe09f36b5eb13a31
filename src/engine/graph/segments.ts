import type { ModelConfig } from '../model/config';
import type { ActName, ParamName } from '../model/names';
import { act } from '../model/names';
import type { Tensor } from '../tensor/tensor';
import { GraphBuilder } from './builder';
import type { GraphSpec } from './proto';
import { causalSelfAttention, rotateEveryTwoMatrix, rotateHalfMatrix } from './attention';
import type { AttentionWeights, QueryTail, Rotary } from './attention';
import { isGated } from '../model/arch/features';
import { geluErf, geluTanh, silu } from '../ops/activations';
import { linear } from '../ops/matmul';
import { layerNorm, rmsNorm } from '../ops/norm';

/** Reads a canonical parameter (lazily loaded by the architecture adapter). */
export type ParamGetter = (name: ParamName) => Tensor;

/** Activation sites inside a block where interventions patch values (keep·x + inject). */
export const HOOK_SITES = ['attn.out', 'mlp.out'] as const;
export type HookSite = (typeof HOOK_SITES)[number];
export const hookInput = (layer: number, site: HookSite, part: 'keep' | 'inject'): string => `hook.blocks.${layer}.${site}.${part}`;

/** Graph input names shared by the engine and the graph builders. */
export const INPUT = { ids: 'input_ids', positions: 'position_ids', mask: 'attn_mask', cos: 'rope.cos', sin: 'rope.sin', rows: 'final_rows', pick: 'pick_ids' } as const;
/** The unembed graph's output of picked log-probabilities [rows, k]. */
export const PICKED = 'picked';

const BP = ['batch', 'pos'] as const;

/** Whether positions come from a learned table (GPT-2) rather than rotary embeddings in attention. */
export const hasLearnedPositions = (cfg: ModelConfig): boolean => cfg.arch.rotary === undefined;

export interface BlockVariant {
  /** With hooks: inputs for patching attn.out / mlp.out, and (unless `past` without `activations`) every block activation as an output. */
  readonly full: boolean;
  /** Also output this call's attention keys and values (`blocks.{l}.attn.k|v`, [batch, n_kv_heads, pos, d_head]). */
  readonly kvOut?: boolean;
  /** Take earlier positions' keys and values as inputs (`past.blocks.{l}.k|v`); the mask is then [pos, past + pos]. */
  readonly past?: boolean;
  /** With `past`, still output every activation (the engine's hooked variant; objectives that only need resid_post leave it off). */
  readonly activations?: boolean;
  /**
   * Compute the block's output only for the last positions (input `tail.start` = −count): keys and values
   * for every position, everything after them (queries, W_O, the MLP, hooks) for the tail. resid_post is
   * [batch, count, d_model]. Causal Tracing's last block: only the scored positions reach the head.
   */
  readonly tail?: boolean;
}

/**
 * The compiled block variants, by name (model/sessions.ts keys segments `block.{l}.{name}`): lean =
 * resid_post only (plain forward passes); hooked = hooks, every activation, this call's attention keys
 * and values as outputs, and earlier positions' keys/values as inputs (empty from position 0), so one
 * session per block serves every run that patches, reads activations or caches keys (a run fetches
 * only the outputs it needs): Causal Tracing's clean, corrupted and restored runs alike.
 * Few variants on purpose: each is one more ORT session per block to encode, create and prepack, and
 * whose memory arena the first runs grow; a cold trace grid paid that for 4 variants (bench/trace.ts).
 * Measured bit-identical to the separate variants they replace (ORT 1.30, GPT-2-small shapes, 360 rows):
 * outputs that are not fetched, and an empty past, change no float; warm runs take the same time.
 */
export const BLOCK_VARIANTS = {
  lean: { full: false },
  hooked: { full: true, kvOut: true, past: true, activations: true },
  tail: { full: true, past: true, tail: true },
} as const satisfies Record<string, BlockVariant>;
export type BlockVariantName = keyof typeof BLOCK_VARIANTS;

export const kvName = (l: number, which: 'k' | 'v'): string => `blocks.${l}.attn.${which}`;
export const pastInput = (l: number, which: 'k' | 'v'): string => `past.blocks.${l}.${which}`;
export const PAST_REPEAT = 'past.repeat';
/** The tail variant's input: minus the number of last positions computed, int64 [1]. */
export const TAIL_START = 'tail.start';

/** Names of the activations a block graph exposes (full variant), in execution order. */
export function blockActivations(cfg: ModelConfig, l: number): ActName[] {
  const common: ActName[] = [act.ln1(l), act.attnOut(l)];
  const mlp: ActName[] = [act.mlp(l, 'pre'), act.mlp(l, 'post'), act.mlp(l, 'out')];
  switch (cfg.arch.residual) {
    case 'sequential':
      return [...common, act.resid(l, 'resid_mid'), act.ln2(l), ...mlp, act.resid(l, 'resid_post')];
    case 'parallel':
      return [...common, act.ln2(l), ...mlp, act.resid(l, 'resid_post')];
    case 'parallel_shared_norm':
      return [...common, ...mlp, act.resid(l, 'resid_post')];
  }
}

function hooked(g: GraphBuilder, cfg: ModelConfig, l: number, site: HookSite, raw: string, name: ActName, full: boolean, tail?: QueryTail): string {
  if (!full) return raw;
  // The hooks come for every position of the call; a tail block applies those of its positions.
  const cut = (v: string): string => (tail ? tail.slice(v, 1) : v);
  const keep = cut(g.input(hookInput(l, site, 'keep'), [...BP, 1]));
  const inject = cut(g.input(hookInput(l, site, 'inject'), [...BP, cfg.d_model]));
  return g.node('Add', [g.node('Mul', [raw, keep]), inject], undefined, tail ? undefined : name);
}

/** Slices a value to the last −`start` entries along an axis (`start` an int64 [1] input). */
function queryTail(g: GraphBuilder, start: string): QueryTail {
  const end = g.int64([2 ** 31 - 1]); // past any sequence: Slice clamps it
  return { slice: (v, axis) => g.node('Slice', [v, start, end, g.int64([axis])]) };
}

/**
 * One transformer block: resid_pre [batch, pos, d_model] → resid_post [batch, pos, d_model].
 * GPT-2: resid_mid = resid_pre + attn(ln1(x)); resid_post = resid_mid + mlp(ln2(resid_mid)).
 * GPT-J: one LayerNorm feeds attention and MLP in parallel; resid_post = attn + mlp + resid_pre (HF order).
 */
export function buildBlockGraph(cfg: ModelConfig, l: number, p: ParamGetter, variant: BlockVariant): GraphSpec {
  const g = new GraphBuilder(`block${l}`);
  const pre = g.input(act.resid(l, 'resid_pre'), [...BP, cfg.d_model]);
  const inputs = blockInputs(g, cfg);
  emitBlock(g, cfg, l, p, variant, pre, inputs);
  const outs = variant.full && (!variant.past || variant.activations) ? blockActivations(cfg, l) : [act.resid(l, 'resid_post')];
  for (const o of outs) g.output(o, ['batch', variant.tail ? 'tail' : 'pos', o.endsWith('mlp.pre') || o.endsWith('mlp.post') ? cfg.d_mlp : cfg.d_model]);
  if (variant.kvOut) for (const w of ['k', 'v'] as const) g.output(kvName(l, w), ['batch', cfg.n_kv_heads, 'pos', cfg.d_head]);
  return g.build();
}

/** The per-call inputs every block reads (fed by graph/feeds.ts blockFeeds): the causal mask and, for rotary models, the tables. */
export interface BlockInputs {
  readonly mask: string;
  readonly rotary?: Rotary;
}

/**
 * Declares the block inputs on `g`. `withBlocks` false (a graph of the head alone, MEMIT's z at the last
 * layer) still declares the fed inputs but leaves out the rotation matrix, which nothing would read
 * (ORT warns about an unused initializer).
 */
export function blockInputs(g: GraphBuilder, cfg: ModelConfig, withBlocks = true): BlockInputs {
  const mask = g.input(INPUT.mask, ['pos', 'keys']);
  const rot = cfg.arch.rotary;
  if (!rot) return { mask };
  const rotate = rot.layout === 'interleaved' ? rotateEveryTwoMatrix(cfg.d_head, rot.dims) : rotateHalfMatrix(cfg.d_head, rot.dims);
  return {
    mask,
    rotary: {
      cos: g.input(INPUT.cos, ['pos', 1, cfg.d_head]),
      sin: g.input(INPUT.sin, ['pos', 1, cfg.d_head]),
      rotate: withBlocks ? g.float(rotate, [cfg.d_head, cfg.d_head]) : '',
    },
  };
}

/**
 * A norm by the model's features over the last axis: LayerNorm (`{prefix}.w`, `.b`), RMSNorm × w, or
 * Gemma's RMSNorm × (1 + w) (the Add runs in float32 inside ORT, as GemmaRMSNorm does).
 */
export function emitNorm(g: GraphBuilder, cfg: ModelConfig, p: ParamGetter, x: string, prefix: 'ln_final' | `blocks.${number}.${'ln1' | 'ln2'}`, out?: string): string {
  const w = g.weight(`${prefix}.w`, p(`${prefix}.w`));
  switch (cfg.arch.norm) {
    case 'layernorm':
      return layerNorm(g, x, w, g.weight(`${prefix}.b`, p(`${prefix}.b`)), cfg.layerNormEps, out);
    case 'rmsnorm':
      return rmsNorm(g, x, w, cfg.layerNormEps, out);
    case 'rmsnorm_plus1':
      return rmsNorm(g, x, g.node('Add', [w, g.float([1])]), cfg.layerNormEps, out);
  }
}

/**
 * The MLP on its input x [batch, pos, d_model] → out [batch, pos, d_model] (unnamed). mlp.pre is the
 * activation's input (the gate projection when gated), mlp.post the input of the output projection
 * (W_out, the matrix ROME edits): act(x W_gate) · (x W_in) for gated MLPs (HF LlamaMLP, GemmaMLP).
 */
function emitMlp(g: GraphBuilder, cfg: ModelConfig, l: number, w: (n: ParamName) => string, x: string, named: (n: ActName) => string | undefined): string {
  const b = `blocks.${l}.mlp` as const;
  const bias = (n: 'b_in' | 'b_gate' | 'b_out'): string | undefined => (cfg.arch.mlpBias ? w(`${b}.${n}`) : undefined);
  const kind = cfg.arch.mlp;
  let post: string;
  if (isGated(kind)) {
    const gate = linear(g, x, w(`${b}.W_gate`), bias('b_gate'), named(act.mlp(l, 'pre')));
    const up = linear(g, x, w(`${b}.W_in`), bias('b_in'));
    const a = kind === 'gated_silu' ? silu(g, gate) : geluTanh(g, gate);
    post = g.node('Mul', [a, up], undefined, named(act.mlp(l, 'post')));
  } else {
    const pre = linear(g, x, w(`${b}.W_in`), bias('b_in'), named(act.mlp(l, 'pre')));
    post = kind === 'gelu_erf' ? geluErf(g, pre, named(act.mlp(l, 'post'))) : geluTanh(g, pre, named(act.mlp(l, 'post')));
  }
  return linear(g, post, w(`${b}.W_out`), bias('b_out'));
}

/**
 * Appends block `l` to `g`, reading its input from value `pre`; returns the resid_post value name.
 * sequential: resid_mid = pre + attn(ln1(pre)); resid_post = resid_mid + mlp(ln2(resid_mid)) (GPT-2, Llama).
 * parallel: resid_post = (attn(ln1(pre)) + mlp(ln2(pre))) + pre (NeoX; GPT-J with ln2 = ln1, HF order).
 */
export function emitBlock(g: GraphBuilder, cfg: ModelConfig, l: number, p: ParamGetter, variant: BlockVariant, pre: string, inputs: BlockInputs): string {
  const { full } = variant;
  const a = cfg.arch;
  const w = (n: ParamName): string => g.weight(n, p(n));
  const b = `blocks.${l}` as const;
  const attnW: AttentionWeights = {
    W_Q: w(`${b}.attn.W_Q`), W_K: w(`${b}.attn.W_K`), W_V: w(`${b}.attn.W_V`), W_O: w(`${b}.attn.W_O`),
    ...(a.qkvBias ? { b_Q: w(`${b}.attn.b_Q`), b_K: w(`${b}.attn.b_K`), b_V: w(`${b}.attn.b_V`) } : {}),
    ...(a.oBias ? { b_O: w(`${b}.attn.b_O`) } : {}),
    ...(a.qkNorm ? { qNorm: w(`${b}.attn.q_norm.w`), kNorm: w(`${b}.attn.k_norm.w`) } : {}),
  };
  const named = (n: ActName): string | undefined => (full && (!variant.past || variant.activations) ? n : undefined);
  const tail = variant.tail ? queryTail(g, g.input(TAIL_START, [1], 'int64')) : undefined;
  // The residual stream of the positions this call outputs: all, or the tail's.
  const own = (v: string): string => (tail ? tail.slice(v, 1) : v);
  const ln1 = emitNorm(g, cfg, p, pre, `${b}.ln1`, named(act.ln1(l)));
  const kvShape = ['rows0', cfg.n_kv_heads, 'past', cfg.d_head];
  const cache = {
    ...(variant.kvOut ? { kOut: kvName(l, 'k'), vOut: kvName(l, 'v') } : {}),
    // Past keys/values come once per distinct row ([rows0, …]) and are tiled to the batch in the graph
    // (`past.repeat` = [copies, 1, 1, 1]): every cell of a trace batch shares the corrupted run's cache.
    ...(variant.past
      ? {
          pastK: g.node('Tile', [g.input(pastInput(l, 'k'), kvShape), g.input(PAST_REPEAT, [4], 'int64')]),
          pastV: g.node('Tile', [g.input(pastInput(l, 'v'), kvShape), PAST_REPEAT]),
        }
      : {}),
  };
  const attnRaw = causalSelfAttention(g, ln1, attnW, cfg, inputs.mask, inputs.rotary, undefined, variant.kvOut || variant.past ? cache : undefined, tail);
  const attn = hooked(g, cfg, l, 'attn.out', attnRaw, act.attnOut(l), full, tail);
  const post = act.resid(l, 'resid_post');
  if (a.residual === 'sequential') {
    const mid = g.node('Add', [own(pre), attn], undefined, named(act.resid(l, 'resid_mid')));
    const mlpIn = emitNorm(g, cfg, p, mid, `${b}.ln2`, named(act.ln2(l)));
    const mlp = hooked(g, cfg, l, 'mlp.out', emitMlp(g, cfg, l, w, mlpIn, named), act.mlp(l, 'out'), full, tail);
    return g.node('Add', [mid, mlp], undefined, post);
  }
  const mlpIn = a.residual === 'parallel' ? emitNorm(g, cfg, p, own(pre), `${b}.ln2`, named(act.ln2(l))) : own(ln1);
  const mlp = hooked(g, cfg, l, 'mlp.out', emitMlp(g, cfg, l, w, mlpIn, named), act.mlp(l, 'out'), full, tail);
  return g.node('Add', [g.node('Add', [attn, mlp]), own(pre)], undefined, post);
}

/**
 * The head on rows x [rows, d_model]: final norm (named `lnOut` when given) and the unembedding,
 * x̂ · W_Eᵀ when tied, else x̂ · W_U, plus b_U when the head has a bias → logits [rows, d_vocab].
 * The unembed and pick segments and the edit objective all use this one head.
 */
export function emitHead(g: GraphBuilder, cfg: ModelConfig, p: ParamGetter, x: string, lnOut?: string, logitsOut?: string): string {
  const ln = emitNorm(g, cfg, p, x, 'ln_final', lnOut);
  const W = cfg.tiedEmbeddings ? g.weight('embed.W_E', p('embed.W_E')) : g.weight('unembed.W_U', p('unembed.W_U'));
  const bias = cfg.arch.headBias ? [g.weight('unembed.b_U', p('unembed.b_U'))] : [];
  return g.node('Gemm', [ln, W, ...bias], { transB: cfg.tiedEmbeddings ? 1 : 0 }, logitsOut); // [rows, d_vocab]
}

/**
 * Final norm + unembedding on selected rows only: x [rows, d_model] → ln_final.out [rows, d_model],
 * logits [rows, d_vocab], and `picked` [rows, k], the log-probabilities of the token ids `pick_ids` [k]
 * (Causal Tracing scores a few answers over thousands of rows: k numbers per row leave ORT instead of
 * d_vocab). The engine gathers the rows it needs (usually each prompt's last token), so the
 * d_model × d_vocab product is never paid for positions nobody reads. One graph serves both logits and
 * picked scores: a second head session would copy and prepack the d_vocab × d_model matrix again
 * (the largest in GPT-2); the log-softmax costs nothing measurable when only logits are fetched.
 */
export function buildUnembedGraph(cfg: ModelConfig, p: ParamGetter): GraphSpec {
  const g = new GraphBuilder('unembed');
  const x = g.input('final.in', ['rows', cfg.d_model]);
  const logits = emitHead(g, cfg, p, x, act.lnFinal, act.logits);
  const logp = g.node('LogSoftmax', [logits], { axis: -1 }); // [rows, d_vocab]
  g.node('Gather', [logp, g.input(INPUT.pick, ['k'], 'int64')], { axis: 1 }, PICKED); // [rows, k]
  g.output(act.lnFinal, ['rows', cfg.d_model]);
  g.output(act.logits, ['rows', cfg.d_vocab]);
  g.output(PICKED, ['rows', 'k']);
  return g.build();
}
