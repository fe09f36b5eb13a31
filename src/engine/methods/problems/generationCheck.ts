/**
 * The free-generation check: does the target appear in the model's greedy continuation? (The "Mirage"
 * critique of teacher-forced evaluation, research/editors.md §2.6: a model can score well when fed the
 * gold prefix and still not say the answer.) Greedy = top-1 decoding with interp/generate.ts, all of a
 * case's prompts in one batch, no sampling, so the check is deterministic.
 */
import { generate } from '../../interp/generate';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';

/** Tokens decoded beyond the target's own length: room for a short lead-in ("the city of Paris"). */
export const GENERATION_EXTRA_TOKENS = 5;

/**
 * Each prompt's greedy continuation (prompt excluded) of `targetTokens + GENERATION_EXTRA_TOKENS`
 * tokens, capped by the context window; <|endoftext|> ends a row early.
 */
export async function greedyContinuations(model: LoadedModel, prompts: readonly string[], targetTokens: number, signal?: AbortSignal): Promise<string[]> {
  if (prompts.length === 0) return [];
  const ids = prompts.map((p) => model.tokenizer.encode(p).ids);
  // Every row gets the same number of new tokens: one batch, each row with its own total length
  // (generate() reads each row's logits at its own last token).
  const maxLength = ids.map((r) => Math.min(model.config.n_ctx, r.length + targetTokens + GENERATION_EXTRA_TOKENS));
  const got = await generate(forwardContext(model), ids, { maxLength, topK: 1, seed: 0, signal });
  return got.map((row, i) => model.tokenizer.decode(row.slice(ids[i].length).filter((id) => id !== model.config.eosTokenId)));
}

/** Whether a continuation says the target (case-sensitive substring of the trimmed target). */
export const saysTarget = (continuation: string, target: string): boolean => target.trim().length > 0 && continuation.includes(target.trim());
