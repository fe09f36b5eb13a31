import { LocusError } from '../../errors';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import { logitsRow, logSumExp } from '../evaluate/rowScores';
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
 * (the embedded model reads 128 positions): each chunk predicts its tokens after its first.
 */
export async function canaryPerplexity(model: LoadedModel, signal?: AbortSignal): Promise<number> {
  const ids = canaryIds(model);
  const V = model.config.d_vocab;
  const span = Math.min(model.config.n_ctx, ids.length);
  let nll = 0;
  let n = 0;
  for (let start = 0; start < ids.length - 1; start += span) {
    const chunk = ids.slice(start, start + span);
    if (chunk.length < 2) break;
    // The last position predicts nothing scored: the head runs on the others only.
    const logitsAt = [Array.from({ length: chunk.length - 1 }, (_, t) => t)];
    const { logits } = await forward(forwardContext(model), [chunk], { logitsAt, signal }); // [pos − 1, d_vocab]
    for (let t = 0; t + 1 < chunk.length; t++) {
      const row = logitsRow(logits!.data, t, V);
      nll -= row[chunk[t + 1]] - logSumExp(row);
      n++;
    }
  }
  return Math.exp(nll / n);
}
