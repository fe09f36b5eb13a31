/**
 * Which special tokens a prompt starts with (BOS), decided as Hugging Face transformers decides it:
 * tokenizer_config.json's `add_bos_token`, when it says, wins (LlamaTokenizerFast/GemmaTokenizerFast
 * rebuild the post-processor from it in `update_post_processor`); otherwise tokenizer.json's
 * post-processor: the special tokens a TemplateProcessing `single` template puts before `$A`
 * (Llama 2, Gemma, current Llama 3 files). A ByteLevel/absent post-processor adds nothing (GPT-2, Qwen).
 *
 * Tokens a template appends after `$A` (an EOS) are not taken: a prompt is read for its next token,
 * and an end-of-text mark before it would ask the model what follows the end of the document.
 */
import { LocusError } from '../errors';

type Json = Record<string, unknown>;

/** A special token's text: tokenizer_config.json spells it as a string or as {content: ...}. */
export function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as Json)['content'] === 'string') return (v as Json)['content'] as string;
  return undefined;
}

/** The ids of the special tokens before `$A` in a TemplateProcessing (also inside a Sequence processor). */
function templatePrefix(processor: unknown): number[] | undefined {
  if (processor === null || typeof processor !== 'object') return undefined;
  const p = processor as Json;
  if (p['type'] === 'Sequence' && Array.isArray(p['processors'])) {
    for (const q of p['processors']) {
      const ids = templatePrefix(q);
      if (ids !== undefined) return ids;
    }
    return undefined;
  }
  if (p['type'] !== 'TemplateProcessing' || !Array.isArray(p['single'])) return undefined;
  const specials = (p['special_tokens'] ?? {}) as Record<string, { ids?: number[] }>;
  const out: number[] = [];
  for (const piece of p['single'] as Json[]) {
    if ('Sequence' in piece) return out;
    const name = (piece['SpecialToken'] as Json | undefined)?.['id'];
    const ids = typeof name === 'string' ? specials[name]?.ids : undefined;
    if (!Array.isArray(ids)) return undefined;
    out.push(...ids);
  }
  return out;
}

/** The ids a prompt gets in front; `tokenToId` looks a token's text up (undefined when absent). */
export function promptPrefix(
  json: Json,
  config: Json,
  tokenToId: (token: string) => number | undefined,
  source: string,
): number[] {
  const explicit = config['add_bos_token'];
  if (explicit === false) return [];
  const fromTemplate = templatePrefix(json['post_processor']);
  if (explicit !== true) return fromTemplate ?? [];
  const name = tokenName(config['bos_token']);
  const id = name === undefined ? undefined : tokenToId(name);
  if (id !== undefined) return [id];
  if (fromTemplate !== undefined && fromTemplate.length > 0) return fromTemplate;
  throw new LocusError(
    'bad-config',
    `${source}: tokenizer_config.json says add_bos_token but its bos_token ${JSON.stringify(name ?? null)} is not in the vocabulary`,
  );
}
