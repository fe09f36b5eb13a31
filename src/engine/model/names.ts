/**
 * Canonical parameter and activation names (TransformerLens vocabulary). These strings are also the
 * ONNX value names in the graphs the engine builds, so "what to fetch" is a list of ActName.
 * This file imports nothing: src/protocol may import its types.
 */

export type MlpSite = 'pre' | 'post' | 'out';
export type ResidSite = 'resid_pre' | 'resid_mid' | 'resid_post';

/** Activation names. `embed` is the token embedding alone (before position embeddings are added). */
export type ActName =
  | 'embed'
  | 'pos_embed'
  | `blocks.${number}.${ResidSite}`
  | `blocks.${number}.ln1.out`
  | `blocks.${number}.ln2.out`
  | `blocks.${number}.attn.out`
  | `blocks.${number}.mlp.${MlpSite}`
  | 'ln_final.out'
  | 'logits';

/** Canonical parameter names. Linear weights are stored [in, out]. */
export type ParamName =
  | 'embed.W_E'
  | 'pos_embed.W_pos'
  | `blocks.${number}.ln1.${'w' | 'b'}`
  | `blocks.${number}.ln2.${'w' | 'b'}`
  | `blocks.${number}.attn.${'W_Q' | 'W_K' | 'W_V' | 'W_O' | 'b_Q' | 'b_K' | 'b_V' | 'b_O'}`
  /** Qwen3's per-head RMSNorm weights [d_head]. */
  | `blocks.${number}.attn.${'q_norm' | 'k_norm'}.w`
  /** W_in is the (up) projection; gated MLPs also have W_gate, the input of the activation. */
  | `blocks.${number}.mlp.${'W_in' | 'b_in' | 'W_gate' | 'b_gate' | 'W_out' | 'b_out'}`
  | `ln_final.${'w' | 'b'}`
  | 'unembed.W_U'
  | 'unembed.b_U';

export const act = {
  embed: 'embed' as const,
  posEmbed: 'pos_embed' as const,
  resid: (layer: number, site: ResidSite): ActName => `blocks.${layer}.${site}`,
  attnOut: (layer: number): ActName => `blocks.${layer}.attn.out`,
  mlp: (layer: number, site: MlpSite): ActName => `blocks.${layer}.mlp.${site}`,
  ln1: (layer: number): ActName => `blocks.${layer}.ln1.out`,
  ln2: (layer: number): ActName => `blocks.${layer}.ln2.out`,
  lnFinal: 'ln_final.out' as const,
  logits: 'logits' as const,
};

/** The layer an activation belongs to, or undefined for embed / ln_final / logits. */
export function layerOf(name: ActName): number | undefined {
  const m = /^blocks\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}

const ACT_PATTERN =
  /^(embed|pos_embed|ln_final\.out|logits|blocks\.\d+\.(resid_pre|resid_mid|resid_post|ln1\.out|ln2\.out|attn\.out|mlp\.(pre|post|out)))$/;

/** Validates user-supplied names (CLI flags, JSON requests). */
export function isActName(s: string): s is ActName {
  return ACT_PATTERN.test(s);
}
