import type { LoadedModel, ModelManifest } from '../model/model';
import { LocusError } from '../errors';
import { assertFiniteArray } from '../files/finite';
import { forward } from './forward';
import { topK } from './topk';

/** The `locus probe` result (CONTRACTS.md): the next-token distribution after the prompt's last token. */
export interface ProbeResult {
  readonly model: ModelManifest;
  readonly tokens: string[];
  readonly ids: number[];
  readonly top: { id: number; token: string; prob: number; logprob: number }[];
}

export function encodePrompt(model: LoadedModel, prompt: string): { ids: number[]; tokens: string[] } {
  if (prompt.length === 0) throw new LocusError('bad-input', 'the prompt is empty: give some text');
  const enc = model.tokenizer.encode(prompt);
  if (enc.ids.length > model.config.n_ctx) {
    throw new LocusError('bad-input', `the prompt has ${enc.ids.length} tokens; ${model.manifest.name}'s context window is ${model.config.n_ctx}`);
  }
  return enc;
}

export async function probe(model: LoadedModel, prompt: string, k = 10, signal?: AbortSignal): Promise<ProbeResult> {
  const { ids, tokens } = encodePrompt(model, prompt);
  const { logits } = await forward(forwardContext(model), [ids], { signal });
  const row = logits!.data.subarray(0, model.config.d_vocab);
  assertFiniteArray('the next-token logits', row, 'the model computes NaN/Inf for this prompt (check its weights)');
  return {
    model: model.manifest,
    tokens,
    ids,
    top: topK(row, k).map((t) => ({ id: t.id, token: model.tokenizer.tokenText(t.id), prob: t.prob, logprob: t.logprob })),
  };
}

export function forwardContext(model: LoadedModel) {
  return { config: model.config, sessions: model.sessions, padId: model.config.eosTokenId, tables: model.tables };
}
