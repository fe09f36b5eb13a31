/**
 * What the Edit panel tabulates for one case: on each rewrite / paraphrase / neighborhood prompt, the
 * most probable next token and the probabilities of both targets (whole strings, teacher-forced).
 * Called once before and once after an edit, on the same prompts, so the rows pair up.
 */
import type { LoadedModel } from '../../model/model';
import { targetLogprobs } from '../evaluate/logprobs';
import type { FactCase } from '../problems/problems';

export interface PromptView {
  readonly kind: 'rewrite' | 'paraphrase' | 'neighborhood';
  readonly prompt: string;
  readonly top: string;
  readonly topProb: number;
  readonly pNew: number;
  readonly pTrue: number;
}

/** The case's prompts with the subject filled in (paraphrase and neighborhood prompts are already complete). */
export function casePrompts(c: FactCase): Array<{ kind: PromptView['kind']; prompt: string }> {
  return [
    { kind: 'rewrite' as const, prompt: c.prompt.replace('{}', c.subject) },
    ...(c.paraphrase_prompts ?? []).map((prompt) => ({ kind: 'paraphrase' as const, prompt })),
    ...(c.neighborhood_prompts ?? []).map((prompt) => ({ kind: 'neighborhood' as const, prompt })),
  ];
}

export async function promptViews(model: LoadedModel, c: FactCase, signal?: AbortSignal): Promise<PromptView[]> {
  const prompts = casePrompts(c);
  const pairs = prompts.flatMap(({ prompt }) => [
    { prompt, target: c.target_new.str },
    { prompt, target: c.target_true.str },
  ]);
  const lps = await targetLogprobs(model, pairs, signal);
  return prompts.map(({ kind, prompt }, i) => {
    const n = lps[2 * i];
    const t = lps[2 * i + 1];
    return {
      kind,
      prompt,
      top: model.tokenizer.tokenText(n.argmax),
      topProb: n.argmaxProb,
      pNew: Math.exp(n.sum),
      pTrue: Math.exp(t.sum),
    };
  });
}
