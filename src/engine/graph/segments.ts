import type { ModelConfig } from '../model/config';
import type { ActName, ParamName } from '../model/names';
import { act } from '../model/names';
import type { Tensor } from '../tensor/tensor';
import { GraphBuilder } from './builder';
import type { GraphSpec } from './proto';
import { causalSelfAttention, rotateEveryTwoMatrix } from './attention';
import type { AttentionWeights, Rotary } from './attention';
import { geluTanh } from '../ops/activations';
import { linear } from '../ops/matmul';
import { layerNorm } from '../ops/norm';

/** Reads a canonical parameter (lazily loaded by the architecture adapter). */
export type ParamGetter = (name: ParamName) => Tensor;

/** Activation sites inside a block where interventions patch values (keep·x + inject). */
export const HOOK_SITES = ['attn.out', 'mlp.out'] as const;
export type HookSite = (typeof HOOK_SITES)[number];
export const hookInput = (layer: number, site: HookSite, part: 'keep' | 'inject'): string => `hook.blocks.${layer}.${site}.${part}`;

/** Graph input names shared by the engine and the graph builders. */
export const INPUT = { ids: 'input_ids', positions: 'position_ids', mask: 'attn_mask', cos: 'rope.cos', sin: 'rope.sin', rows: 'final_rows' } as const;

const BP = ['batch', 'pos'] as const;

/** Token (and, for GPT-2, learned position) embeddings: ids [batch, pos] → embed, pos_embed [batch, pos, d_model]. */
export function buildEmbedGraph(cfg: ModelConfig, p: ParamGetter): GraphSpec {
  const g = new GraphBuilder('embed');
  const ids = g.input(INPUT.ids, BP, 'int64');
  g.node('Gather', [g.weight('embed.W_E', p('embed.W_E')), ids], { axis: 0 }, act.embed);
  g.output(act.embed, [...BP, cfg.d_model]);
  if (cfg.modelType === 'gpt2') {
    const positions = g.input(INPUT.positions, BP, 'int64');
    g.node('Gather', [g.weight('pos_embed.W_pos', p('pos_embed.W_pos')), positions], { axis: 0 }, act.posEmbed);
    g.output(act.posEmbed, [...BP, cfg.d_model]);
  }
  return g.build();
}

export interface BlockVariant {
  /** With hooks: inputs for patching attn.out / mlp.out, and (unless `past`) every block activation as an output. */
  readonly full: boolean;
  /** Also output this call's attention keys and values (`blocks.{l}.attn.k|v`, [batch, n_heads, pos, d_head]). */
  readonly kvOut?: boolean;
  /** Take earlier positions' keys and values as inputs (`past.blocks.{l}.k|v`); the mask is then [pos, past + pos]. */
  readonly past?: boolean;
  /** With hooks but only resid_post as output (restored runs that start at position 0). */
  readonly postOnly?: boolean;
}

export const kvName = (l: number, which: 'k' | 'v'): string => `blocks.${l}.attn.${which}`;
export const pastInput = (l: number, which: 'k' | 'v'): string => `past.blocks.${l}.${which}`;
export const PAST_REPEAT = 'past.repeat';

/** Names of the activations a block graph exposes (full variant), in execution order. */
export function blockActivations(cfg: ModelConfig, l: number): ActName[] {
  const common: ActName[] = [act.ln1(l), act.attnOut(l)];
  const mlp: ActName[] = [act.mlp(l, 'pre'), act.mlp(l, 'post'), act.mlp(l, 'out')];
  return cfg.modelType === 'gpt2'
    ? [...common, act.resid(l, 'resid_mid'), act.ln2(l), ...mlp, act.resid(l, 'resid_post')]
    : [...common, ...mlp, act.resid(l, 'resid_post')];
}

function hooked(g: GraphBuilder, cfg: ModelConfig, l: number, site: HookSite, raw: string, name: ActName, full: boolean): string {
  if (!full) return raw;
  const keep = g.input(hookInput(l, site, 'keep'), [...BP, 1]);
  const inject = g.input(hookInput(l, site, 'inject'), [...BP, cfg.d_model]);
  return g.node('Add', [g.node('Mul', [raw, keep]), inject], undefined, name);
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
  const outs = variant.full && !variant.past && !variant.postOnly ? blockActivations(cfg, l) : [act.resid(l, 'resid_post')];
  for (const o of outs) g.output(o, [...BP, o.endsWith('mlp.pre') || o.endsWith('mlp.post') ? cfg.d_mlp : cfg.d_model]);
  if (variant.kvOut) for (const w of ['k', 'v'] as const) g.output(kvName(l, w), ['batch', cfg.n_heads, 'pos', cfg.d_head]);
  return g.build();
}

/** The per-call inputs every block reads: the causal mask and, for GPT-J, the rotary tables. */
export interface BlockInputs {
  readonly mask: string;
  readonly rotary?: Rotary;
}

export function blockInputs(g: GraphBuilder, cfg: ModelConfig): BlockInputs {
  const mask = g.input(INPUT.mask, ['pos', 'keys']);
  if (cfg.modelType === 'gpt2') return { mask };
  return {
    mask,
    rotary: {
      cos: g.input(INPUT.cos, ['pos', 1, cfg.d_head]),
      sin: g.input(INPUT.sin, ['pos', 1, cfg.d_head]),
      rotate: g.float(rotateEveryTwoMatrix(cfg.d_head, cfg.rotaryDim), [cfg.d_head, cfg.d_head]),
    },
  };
}

/** Appends block `l` to `g`, reading its input from value `pre`; returns the resid_post value name. */
export function emitBlock(g: GraphBuilder, cfg: ModelConfig, l: number, p: ParamGetter, variant: BlockVariant, pre: string, inputs: BlockInputs): string {
  const { full } = variant;
  const w = (n: ParamName): string => g.weight(n, p(n));
  const b = `blocks.${l}` as const;
  const gpt2 = cfg.modelType === 'gpt2';
  const attnW: AttentionWeights = {
    W_Q: w(`${b}.attn.W_Q`), W_K: w(`${b}.attn.W_K`), W_V: w(`${b}.attn.W_V`), W_O: w(`${b}.attn.W_O`),
    ...(gpt2 ? { b_Q: w(`${b}.attn.b_Q`), b_K: w(`${b}.attn.b_K`), b_V: w(`${b}.attn.b_V`), b_O: w(`${b}.attn.b_O`) } : {}),
  };
  const named = (n: ActName): string | undefined => (full && !variant.past && !variant.postOnly ? n : undefined);
  const eps = cfg.layerNormEps;
  const ln1 = layerNorm(g, pre, w(`${b}.ln1.w`), w(`${b}.ln1.b`), eps, named(act.ln1(l)));
  const cache = {
    ...(variant.kvOut ? { kOut: kvName(l, 'k'), vOut: kvName(l, 'v') } : {}),
    // Past keys/values come once per distinct row ([rows0, …]) and are tiled to the batch in the graph
    // (`past.repeat` = [copies, 1, 1, 1]): every cell of a trace batch shares the corrupted run's cache.
    ...(variant.past
      ? {
          pastK: g.node('Tile', [g.input(pastInput(l, 'k'), ['rows0', cfg.n_heads, 'past', cfg.d_head]), g.input(PAST_REPEAT, [4], 'int64')]),
          pastV: g.node('Tile', [g.input(pastInput(l, 'v'), ['rows0', cfg.n_heads, 'past', cfg.d_head]), PAST_REPEAT]),
        }
      : {}),
  };
  const attnRaw = causalSelfAttention(g, ln1, attnW, cfg, inputs.mask, inputs.rotary, undefined, variant.kvOut || variant.past ? cache : undefined);
  const attn = hooked(g, cfg, l, 'attn.out', attnRaw, act.attnOut(l), full);
  let mlpIn = ln1;
  let mid = pre;
  if (gpt2) {
    mid = g.node('Add', [pre, attn], undefined, named(act.resid(l, 'resid_mid')));
    mlpIn = layerNorm(g, mid, w(`${b}.ln2.w`), w(`${b}.ln2.b`), eps, named(act.ln2(l)));
  }
  const mlpPre = linear(g, mlpIn, w(`${b}.mlp.W_in`), w(`${b}.mlp.b_in`), named(act.mlp(l, 'pre')));
  const mlpPost = geluTanh(g, mlpPre, named(act.mlp(l, 'post')));
  const mlpRaw = linear(g, mlpPost, w(`${b}.mlp.W_out`), w(`${b}.mlp.b_out`));
  const mlp = hooked(g, cfg, l, 'mlp.out', mlpRaw, act.mlp(l, 'out'), full);
  const post = act.resid(l, 'resid_post');
  if (gpt2) return g.node('Add', [mid, mlp], undefined, post);
  return g.node('Add', [g.node('Add', [attn, mlp]), pre], undefined, post);
}

/**
 * Final LayerNorm + unembedding + log-softmax on rows x [rows, d_model], returning only the
 * log-probabilities of the token ids `pick_ids` [k]: [rows, k]. Scoring a few answers over thousands
 * of rows (Causal Tracing) then moves k numbers per row out of ORT instead of d_vocab.
 */
export function buildPickGraph(cfg: ModelConfig, p: ParamGetter): GraphSpec {
  const g = new GraphBuilder('unembed.pick');
  const x = g.input('final.in', ['rows', cfg.d_model]);
  const ln = layerNorm(g, x, g.weight('ln_final.w', p('ln_final.w')), g.weight('ln_final.b', p('ln_final.b')), cfg.layerNormEps);
  const W = cfg.tiedEmbeddings ? g.weight('embed.W_E', p('embed.W_E')) : g.weight('unembed.W_U', p('unembed.W_U'));
  const bias = cfg.modelType === 'gptj' ? [g.weight('unembed.b_U', p('unembed.b_U'))] : [];
  const logp = g.node('LogSoftmax', [g.node('Gemm', [ln, W, ...bias], { transB: cfg.tiedEmbeddings ? 1 : 0 })], { axis: -1 }); // [rows, d_vocab]
  g.node('Gather', [logp, g.input('pick_ids', ['k'], 'int64')], { axis: 1 }, 'picked'); // [rows, k]
  g.output('picked', ['rows', 'k']);
  return g.build();
}

/**
 * Final LayerNorm + unembedding on selected rows only: x [rows, d_model] → ln_final.out [rows, d_model],
 * logits [rows, d_vocab]. The engine gathers the rows it needs (usually each prompt's last token), so
 * the d_model × d_vocab product is never paid for positions nobody reads.
 */
export function buildUnembedGraph(cfg: ModelConfig, p: ParamGetter): GraphSpec {
  const g = new GraphBuilder('unembed');
  const x = g.input('final.in', ['rows', cfg.d_model]);
  const ln = layerNorm(g, x, g.weight('ln_final.w', p('ln_final.w')), g.weight('ln_final.b', p('ln_final.b')), cfg.layerNormEps, act.lnFinal);
  // Tied (GPT-2): logits = ln · W_Eᵀ. Untied: ln · W_U. GPT-J's lm_head always has a bias, GPT-2's never.
  const W = cfg.tiedEmbeddings ? g.weight('embed.W_E', p('embed.W_E')) : g.weight('unembed.W_U', p('unembed.W_U'));
  const bias = cfg.modelType === 'gptj' ? [g.weight('unembed.b_U', p('unembed.b_U'))] : [];
  g.node('Gemm', [ln, W, ...bias], { transB: cfg.tiedEmbeddings ? 1 : 0 }, act.logits);
  g.output(act.lnFinal, ['rows', cfg.d_model]);
  g.output(act.logits, ['rows', cfg.d_vocab]);
  return g.build();
}
