import { LocusError } from '../../errors';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import { suffixPick } from '../../interp/suffix';
import type { LoadedModel } from '../../model/model';
import { act } from '../../model/names';
import { defaultStatsCorpus } from '../stats/corpus';

/** Tokens of canary text scored (issue 18 item 5: "a small canary text", ~200 tokens: one forward pass per chunk). */
export const CANARY_TOKENS = 200;
/** The canary's first words: the opening paragraph of WikiText-2's test split (Merity et al. 2016, bundled in assets/data). */
const CANARY_START = ' Robert Boulter is an English film';

let cachedCanary: string | undefined;

/**
 * The canary text: WikiText-2 raw test's first article ("Robert Boulter"), from its first paragraph
 * on, enough rows for CANARY_TOKENS tokens with any tokenizer. A fixed text so that two edits' numbers
 * compare. Perplexity is a cheap proxy for a collapsed model ("The Butterfly Effect of Model Editing",
 * ACL'24 Findings: it correlates with downstream performance; research/editors.md §2 item 1).
 * Note: the embedded model was trained on WikiText-2 valid+test, so for it the text is not held out;
 * the check compares before and after an edit, which needs no held-out text to reveal a collapse.
 */
export function canaryText(): string {
  if (cachedCanary === undefined) {
    const rows = defaultStatsCorpus().texts;
    const at = rows.findIndex((r) => r.startsWith(CANARY_START));
    // Six rows hold far more than 200 tokens of any tokenizer (the first alone is ~170 words).
    cachedCanary = rows.slice(Math.max(0, at), Math.max(0, at) + 6).join('');
  }
  return cachedCanary;
}

/** Whether this build ships the canary text (the bundled WikiText-2). */
export function canaryAvailable(): boolean {
  try {
    return canaryText().length > 0;
  } catch (e) {
    if (e instanceof LocusError && e.code === 'not-found') return false;
    throw e;
  }
}

/** The canary's token ids: the tokenizer's prompt prefix (BOS where the model takes one), then CANARY_TOKENS tokens. */
export function canaryIds(model: LoadedModel): number[] {
  const ids = model.tokenizer.encode(canaryText()).ids;
  return ids.slice(0, model.tokenizer.prefixIds.length + CANARY_TOKENS);
}

/**
 * Perplexity exp(mean NLL) of the model on the canary text, in chunks of at most the model's context
 * (the embedded model reads 128 positions): each chunk predicts its tokens after its first. The head
 * scores the next tokens inside ORT (the unembed graph's pick mode, float32 log-softmax): a
 * whole-vocabulary row per position read in JS cost more than the head itself (issue 17).
 */
export async function canaryPerplexity(model: LoadedModel, signal?: AbortSignal): Promise<number> {
  const ids = canaryIds(model);
  const ctx = forwardContext(model);
  const last = act.resid(model.config.n_layers - 1, 'resid_post');
  const span = Math.min(model.config.n_ctx, ids.length);
  let nll = 0;
  let n = 0;
  for (let start = 0; start < ids.length - 1; start += span) {
    const chunk = ids.slice(start, start + span);
    if (chunk.length < 2) break;
    const { acts } = await forward(ctx, [chunk], { fetch: [last], logits: 'none', signal }); // [1, pos, d_model]
    const k = chunk.length - 1;
    // log p(chunk[t+1] | chunk[..t]) is entry [t, t] of [1, positions, ids].
    const picked = await suffixPick(ctx, acts.get(last)!, Array.from({ length: k }, (_, t) => t), chunk.slice(1)); // [1, k, k]
    for (let t = 0; t < k; t++) nll -= picked.data[t * k + t];
    n += k;
  }
  return Math.exp(nll / n);
}
