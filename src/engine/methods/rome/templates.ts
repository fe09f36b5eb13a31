import { generate } from '../../interp/generate';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';

/**
 * ROME's context templates: "{}" plus, for each (length, count) in context_template_length_params,
 * `count` texts sampled (top-5) from <|endoftext|> to `length` tokens in total, each + ". {}".
 * torch.multinomial's draws cannot be reproduced outside torch, so sampling uses the project's seeded
 * sampler (seed-paper.md §0 decision 6); the result records the templates used. Braces in sampled
 * text are replaced by spaces (MEMIT's sanitization) so each template keeps exactly one "{}".
 */
export async function sampleContextTemplates(model: LoadedModel, lengthParams: ReadonlyArray<readonly [number, number]>, seed: number, signal?: AbortSignal): Promise<string[]> {
  const eos = model.tokenizer.eosTokenId;
  const out = ['{}'];
  for (const [length, count] of lengthParams) {
    const rows = await generate(forwardContext(model), Array.from({ length: count }, () => [eos]), { maxLength: length, topK: 5, seed: seed * 7919 + length, signal });
    for (const r of rows) {
      const text = model.tokenizer.decode(r.filter((id) => id !== eos)).replace(/[{}]/g, ' ');
      out.push(`${text}. {}`);
    }
  }
  return out;
}
