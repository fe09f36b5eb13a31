/**
 * Held-out perplexity: a cheap proxy for a collapsing model ("perplexity correlates with downstream
 * performance", Butterfly Effect, ACL'24 Findings; research/editors.md §2.1). A fixed sample of the
 * bundled WikiText-2 text (the first documents, headings skipped, up to N tokens), cut into windows
 * of the model's context (at most 256), each window scored on its own: mean next-token NLL over every
 * predicted token, perplexity = exp of it. The embedded model was trained on WikiText-2 (its
 * MODEL_CARD.md), so for it this measures damage to text it knew, not generalisation.
 */
import { LocusError } from '../../errors';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import { logSoftmax } from '../../interp/topk';
import type { LoadedModel } from '../../model/model';
import { defaultStatsCorpus } from '../stats/corpus';

export const DEFAULT_HELD_OUT_TOKENS = 2048;
const MAX_WINDOW = 256;
/** Windows per forward call: small enough to keep [batch, pos, d_vocab] logits modest. */
const WINDOWS_PER_CALL = 4;

/** The sample's token ids, windows of equal length (the last partial window dropped). */
export function heldOutWindows(model: LoadedModel, tokens: number): number[][] {
  // Windows of the model's context (at most MAX_WINDOW), and at least one even when `tokens` is smaller.
  const W = Math.min(MAX_WINDOW, model.config.n_ctx, Math.max(tokens, 2));
  const want = Math.max(W, tokens - (tokens % W));
  const ids: number[] = [];
  for (const doc of defaultStatsCorpus().texts) {
    if (/^\s*=/.test(doc)) continue; // " = Heading = " lines
    ids.push(...model.tokenizer.encode(doc.trim()).ids);
    if (ids.length >= want) break;
  }
  const windows: number[][] = [];
  for (let i = 0; i + W <= Math.min(ids.length, want); i += W) windows.push(ids.slice(i, i + W));
  if (windows.length === 0) throw new LocusError('not-found', `the WikiText-2 sample holds fewer than ${W} tokens for this tokenizer: no held-out perplexity`);
  return windows;
}

/** exp(mean next-token NLL) over the windows. */
export async function heldOutPerplexity(model: LoadedModel, windows: readonly number[][], signal?: AbortSignal): Promise<number> {
  const V = model.config.d_vocab;
  let nll = 0;
  let n = 0;
  for (let i = 0; i < windows.length; i += WINDOWS_PER_CALL) {
    const batch = windows.slice(i, i + WINDOWS_PER_CALL);
    const { logits } = await forward(forwardContext(model), batch, { logits: 'all', signal }); // [batch, pos, d_vocab]
    batch.forEach((ids, b) => {
      const T = ids.length;
      for (let t = 0; t + 1 < T; t++) {
        nll -= logSoftmax(logits!.data.subarray((b * T + t) * V, (b * T + t + 1) * V))[ids[t + 1]];
        n++;
      }
    });
  }
  return Math.exp(nll / n);
}
