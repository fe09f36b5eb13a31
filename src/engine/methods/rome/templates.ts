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
      const text = model.tokenizer.decode(r.filter((id) => id !== eos && !model.tokenizer.prefixIds.includes(id))).replace(/[{}]/g, ' ');
      out.push(`${text}. {}`);
    }
  }
  return out;
}

/**
 * MEMIT's context templates (kmeng01/memit get_context_templates): [["{}"], [5 texts of 10 tokens
 * sampled from "The", "Therefore", "Because", "I", "You", each + ". {}"]], braces replaced by spaces.
 */
export async function sampleMemitTemplates(model: LoadedModel, seed: number, signal?: AbortSignal): Promise<string[][]> {
  const starts = ['The', 'Therefore', 'Because', 'I', 'You'].map((w) => model.tokenizer.encode(w).ids);
  const rows = await generate(forwardContext(model), starts, { maxLength: 10, topK: 5, seed: seed * 7919 + 10, signal });
  const eos = model.tokenizer.eosTokenId;
  // A BOS that encode() put before each start word is not text of the template.
  const prefix = model.tokenizer.prefixIds;
  return [['{}'], rows.map((r) => `${model.tokenizer.decode(r.filter((id) => id !== eos && !prefix.includes(id))).replace(/[{}]/g, ' ')}. {}`)];
}
