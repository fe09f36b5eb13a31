/**
 * The per-call inputs every block graph reads, built in one place for forward passes, suffix runs
 * (Causal Tracing), the edit objectives and fine-tuning batches: the causal mask and, for rotary
 * models, the cos/sin tables of the positions the call covers. And the step from embeddings to the
 * first residual stream (learned positions added, Gemma's √d scale).
 */
import { LocusError } from '../errors';
import type { ModelConfig } from '../model/config';
import type { Feed } from '../runtime/ort';
import type { Tensor } from '../tensor/tensor';
import { causalMaskWithPast, rotaryTablesAt } from './attention';
import { INPUT } from './segments';

/**
 * Mask [n, t0 + n] for queries at positions t0 … t0+n−1 over keys 0 … t0+n−1, and the rotary tables
 * of those positions ([n, 1, d_head]). Refuses a sequence longer than a sliding window (Mistral): the
 * full causal mask would then attend further back than the model does.
 */
export function blockFeeds(cfg: ModelConfig, t0: number, n: number): Record<string, Feed> {
  const window = cfg.arch.slidingWindow;
  if (window !== undefined && t0 + n > window) {
    throw new LocusError('bad-input', `the prompt has ${t0 + n} tokens, more than this ${cfg.modelType} model's sliding window of ${window}: Locus computes full attention only, so it refuses prompts longer than the window`);
  }
  const feeds: Record<string, Feed> = { [INPUT.mask]: { shape: [n, t0 + n], data: causalMaskWithPast(n, t0) } };
  const rot = cfg.arch.rotary;
  if (rot) {
    const { cos, sin } = rotaryTablesAt(rot, cfg.d_head, t0, n);
    feeds[INPUT.cos] = { shape: [n, 1, cfg.d_head], data: cos };
    feeds[INPUT.sin] = { shape: [n, 1, cfg.d_head], data: sin };
  }
  return feeds;
}

/**
 * blocks.0.resid_pre from the embedding graph's outputs [batch, pos, d_model]: embed + pos_embed with
 * learned positions; embed × embedScale (float32, Gemma: GemmaModel multiplies by the normalizer in the
 * compute dtype); else embed itself.
 */
export function residualFromEmbeddings(cfg: ModelConfig, embed: Tensor, posEmbed?: Tensor): Tensor {
  const scale = cfg.arch.embedScale;
  if (!posEmbed && scale === undefined) return embed;
  const out = new Float32Array(embed.data.length);
  if (posEmbed) for (let i = 0; i < out.length; i++) out[i] = embed.data[i] + posEmbed.data[i];
  else for (let i = 0; i < out.length; i++) out[i] = embed.data[i] * (scale as number);
  return { shape: embed.shape, data: out };
}
