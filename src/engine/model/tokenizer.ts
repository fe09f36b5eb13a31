import * as path from 'node:path';
import type { Tokenizer as HfTokenizerClass } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import { LocusError } from '../errors';
import { entryExists, readJsonObject, readTextFile } from '../files/read';
import { GPT2_EOS, gpt2TokenizerJson, parseMergesTxt } from './byteLevel';
import { HfTokenizer } from './tokHf';
import { continuationJson } from './tokNormalize';
import { promptPrefix, tokenName } from './tokPrefix';

// The package is ESM-typed but ships a CommonJS build (exports["."].node.require), so it is
// required at run time and typed from its .d.ts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tokenizer } = require('@huggingface/tokenizers') as { Tokenizer: typeof HfTokenizerClass };
export type Tokenizer = HfTokenizerClass;

export { gpt2TokenizerJson, parseMergesTxt } from './byteLevel';

/** A tokenized text. Invariant: ids, tokens and offsets have the same length. */
export interface Encoding {
  ids: number[];
  /** tokens[i]: the text of token i decoded alone, e.g. ' Space' (U+FFFD where it holds part of a character). */
  tokens: string[];
  /**
   * offsets[i]: [start, end) of token i in the input, in UTF-16 indices (what String.slice takes), as
   * the Rust tokenizer reports them: a token spelled with a leading space (`Ġ`, `▁`) includes that
   * space; a character whose bytes are split between tokens lies wholly inside the span of each of
   * them (starts and ends stay non-decreasing); a prompt's BOS, which has no characters, is [0, 0].
   * Tokenizers whose normalizer cannot be replayed (tokNormalize.ts): see greedyOffsets.
   */
  offsets: Array<[number, number]>;
}

export interface LocusTokenizer {
  /**
   * A prompt as the model reads it: `prefixIds` (BOS for Llama/Gemma; nothing for GPT-2, Qwen) and
   * then the text, tokenized as the start of a document (SentencePiece prepends its `▁`).
   */
  encode(text: string): Encoding;
  /**
   * Text that continues a prompt (a target such as " Paris"): no BOS and no `▁` put in front, so the
   * ids are those the model reads after the prompt (Llama 2: `▁Paris`, not `▁ ▁Paris`).
   */
  encodeContinuation(text: string): Encoding;
  /** The exact text of `ids` (no clean-up of spaces before punctuation; special tokens kept). */
  decode(ids: number[]): string;
  /** Number of token ids, added tokens included (50257 for GPT-2). */
  readonly vocabSize: number;
  readonly eosTokenId: number;
  /** The ids encode() puts before every prompt (see tokPrefix.ts); empty for GPT-2. */
  readonly prefixIds: readonly number[];
  /** The beginning-of-sequence id when prompts get one, else undefined. */
  readonly bosTokenId: number | undefined;
  /** The text of one token decoded alone; SentencePiece's `▁` reads as a space. */
  tokenText(id: number): string;
  /**
   * Token index span [b, e) covering the first occurrence of substring `sub` at or after char `from`:
   * the tokens whose offsets overlap the substring's characters. Same [b, e) as ROME's find_token_range.
   */
  findSpan(enc: Encoding, text: string, sub: string, from?: number): [number, number];
}

type Json = Record<string, unknown>;

/**
 * A tokenizer file holding a JSON object (files/read's reader: BOM accepted, clear errors for
 * unreadable, malformed or non-object files); absent → undefined, since most of these files are optional.
 */
function readOptionalObject(file: string): Json | undefined {
  try {
    return readJsonObject(file, 'tokenizer file') as Json;
  } catch (e) {
    if (e instanceof LocusError && e.code === 'not-found') return undefined;
    throw e;
  }
}

function readVocab(file: string): Record<string, number> {
  const vocab = readOptionalObject(file) as Json;
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new LocusError('bad-config', `${file}: the id of ${JSON.stringify(token)} must be a non-negative integer`);
    }
  }
  return vocab as Record<string, number>;
}

/**
 * Loads the tokenizer of a Hugging Face model folder: tokenizer.json when present, else GPT-2's
 * vocab.json + merges.txt turned into the same tokenizer.json in memory, so both paths run one code.
 */
export function loadTokenizer(folder: string): LocusTokenizer {
  const file = (name: string): string => path.join(folder, name);
  const config = readOptionalObject(file('tokenizer_config.json')) ?? {};
  const specialMap = readOptionalObject(file('special_tokens_map.json')) ?? {};
  let json = readOptionalObject(file('tokenizer.json'));
  let source = file('tokenizer.json');
  if (json === undefined) {
    if (!entryExists(file('vocab.json')) || !entryExists(file('merges.txt'))) {
      if (entryExists(file('tokenizer.model'))) {
        throw new LocusError(
          'missing-tokenizer',
          `${folder} has no tokenizer.json and no vocab.json + merges.txt, only SentencePiece's tokenizer.model, which Locus does not read: ` +
            `write tokenizer.json with transformers (AutoTokenizer.from_pretrained(folder).save_pretrained(folder))`,
        );
      }
      throw new LocusError(
        'missing-tokenizer',
        `${folder} has no tokenizer.json and no vocab.json + merges.txt: copy the tokenizer files of the model next to its weights`,
      );
    }
    const vocab = readVocab(file('vocab.json'));
    json = gpt2TokenizerJson(vocab, parseMergesTxt(readTextFile(file('merges.txt'), 'tokenizer file'), file('merges.txt')));
    source = file('vocab.json') + ' + merges.txt';
  }
  // Older folders name their special tokens only in special_tokens_map.json; tokenizer_config.json wins.
  const merged: Json = { bos_token: specialMap['bos_token'], eos_token: specialMap['eos_token'], ...config };
  return createTokenizer(json, merged, source, tokenName(merged['eos_token']));
}

/** True if a decoder (or a Sequence of them) includes ByteLevel, i.e. token characters spell bytes. */
function isByteLevel(component: unknown): boolean {
  if (component === null || typeof component !== 'object') return false;
  const c = component as Json;
  return c['type'] === 'ByteLevel' || (Array.isArray(c['decoders']) && c['decoders'].some(isByteLevel));
}

/**
 * Wraps an already-parsed tokenizer.json object (e.g. one a trainer just built); `source` names it in
 * errors; `eosName` is the end-of-sequence token's text, defaulting to the config's `eos_token`, then
 * `<|endoftext|>`, then `</s>`.
 */
export function createTokenizer(json: Json, config: Json, source: string, eosName?: string): LocusTokenizer {
  if (!Array.isArray(json['added_tokens'])) json = { ...json, added_tokens: [] };
  const tok = hfTokenizer(json, config, source);
  const lookup = (n: string | undefined): number | undefined => (n === undefined ? undefined : tok.token_to_id(n));
  const eosId = [eosName ?? tokenName(config['eos_token']), GPT2_EOS, '</s>'].map(lookup).find((id) => id !== undefined);
  if (eosId === undefined) {
    throw new LocusError('missing-tokenizer', `${source} has no end-of-sequence token (looked for ${eosName ?? GPT2_EOS} and </s>)`);
  }
  const prefix = promptPrefix(json, config, lookup, source);
  // Most files prepend nothing (byte-level, Gemma): their continuations reuse the prompt tokenizer.
  const cont = continuationJson(json);
  const same = JSON.stringify([cont['normalizer'], cont['pre_tokenizer']]) === JSON.stringify([json['normalizer'], json['pre_tokenizer']]);
  const continuation = (): Tokenizer => (same ? tok : hfTokenizer(cont, config, source));
  return new HfTokenizer({ tok, continuation, json, eosId, prefix, byteLevel: isByteLevel(json['decoder']) });
}

function hfTokenizer(json: Json, config: Json, source: string): Tokenizer {
  try {
    return new Tokenizer(json, config);
  } catch (e) {
    throw new LocusError('bad-config', `${source} is not a tokenizer this engine can load (${(e as Error).message})`);
  }
}
