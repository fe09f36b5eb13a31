import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tokenizer as HfTokenizerClass } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import { LocusError } from '../errors';
import { readJsonFile, readTextFile } from '../files/read';
import { GPT2_EOS, byteLevelToBytes, gpt2TokenizerJson, parseMergesTxt, utf8Layout } from './byteLevel';

// The package is ESM-typed but ships a CommonJS build (exports["."].node.require), so it is
// required at run time and typed from its .d.ts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tokenizer } = require('@huggingface/tokenizers') as { Tokenizer: typeof HfTokenizerClass };
type Tokenizer = HfTokenizerClass;

export { gpt2TokenizerJson, parseMergesTxt } from './byteLevel';

/** A tokenized text. Invariant: ids, tokens and offsets have the same length. */
export interface Encoding {
  ids: number[];
  /** tokens[i]: the text of token i decoded alone, e.g. ' Space' (U+FFFD where it holds part of a character). */
  tokens: string[];
  /**
   * offsets[i]: [start, end) of token i in the input, in UTF-16 indices (what String.slice takes).
   * Byte-level tokenizers: exact, contiguous and covering the text; a character whose UTF-8 bytes are
   * split between tokens lies wholly inside the span of each of them, so neighbouring spans then share
   * that one character (starts and ends stay non-decreasing). Other tokenizers: see greedyOffsets.
   */
  offsets: Array<[number, number]>;
}

export interface LocusTokenizer {
  /** Tokenizes without adding anything (no BOS: GPT-2 prepends nothing). */
  encode(text: string): Encoding;
  /** The exact text of `ids` (no clean-up of spaces before punctuation; special tokens kept). */
  decode(ids: number[]): string;
  /** Number of token ids, added tokens included (50257 for GPT-2). */
  readonly vocabSize: number;
  readonly eosTokenId: number;
  /** The text of one token decoded alone. */
  tokenText(id: number): string;
  /**
   * Token index span [b, e) covering the first occurrence of substring `sub` at or after char `from`:
   * the tokens whose offsets overlap the substring's characters. Same [b, e) as ROME's find_token_range.
   */
  findSpan(enc: Encoding, text: string, sub: string, from?: number): [number, number];
}

type Json = Record<string, unknown>;

/**
 * Parses `file` as JSON (a UTF-8 BOM is accepted); absent → undefined; unreadable (permissions, a
 * link loop, a folder) or malformed → a LocusError naming the file and the reason.
 */
function readJson(file: string): unknown {
  try {
    return readJsonFile(file, 'tokenizer file');
  } catch (e) {
    if (e instanceof LocusError && e.code === 'not-found') return undefined;
    throw e;
  }
}

function readJsonObject(file: string): Json | undefined {
  const v = readJson(file);
  if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) {
    throw new LocusError('bad-config', `${file} must hold a JSON object`);
  }
  return v as Json | undefined;
}

/** Whether a directory entry exists (a link that loops or dangles counts: reading it then says why it fails). */
function present(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function readVocab(file: string): Record<string, number> {
  const vocab = readJsonObject(file) as Json;
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
  const config = readJsonObject(file('tokenizer_config.json')) ?? {};
  const specialMap = readJsonObject(file('special_tokens_map.json')) ?? {};
  let json = readJsonObject(file('tokenizer.json'));
  let source = file('tokenizer.json');
  if (json === undefined) {
    if (!present(file('vocab.json')) || !present(file('merges.txt'))) {
      throw new LocusError(
        'missing-tokenizer',
        `${folder} has no tokenizer.json and no vocab.json + merges.txt: copy the tokenizer files of the model next to its weights`,
      );
    }
    const vocab = readVocab(file('vocab.json'));
    json = gpt2TokenizerJson(vocab, parseMergesTxt(readTextFile(file('merges.txt'), 'tokenizer file'), file('merges.txt')));
    source = file('vocab.json') + ' + merges.txt';
  }
  const eosName = tokenName(config['eos_token']) ?? tokenName(specialMap['eos_token']);
  return createTokenizer(json, config, source, eosName);
}

/** A special token's text: tokenizer_config.json spells it as a string or as {content: ...}. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as Json)['content'] === 'string') return (v as Json)['content'] as string;
  return undefined;
}

/** True if a decoder (or a Sequence of them) includes ByteLevel, i.e. token characters spell bytes. */
function isByteLevel(component: unknown): boolean {
  if (component === null || typeof component !== 'object') return false;
  const c = component as Json;
  return c['type'] === 'ByteLevel' || (Array.isArray(c['decoders']) && c['decoders'].some(isByteLevel));
}

/**
 * Wraps an already-parsed tokenizer.json object (e.g. one a trainer just built); `source` names it in
 * errors; `eosName` is the end-of-sequence token's text, defaulting to `<|endoftext|>` then `</s>`.
 */
export function createTokenizer(json: Json, config: Json, source: string, eosName?: string): LocusTokenizer {
  if (!Array.isArray(json['added_tokens'])) json = { ...json, added_tokens: [] };
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    throw new LocusError('bad-config', `${source} is not a tokenizer this engine can load (${(e as Error).message})`);
  }
  const eosId = [eosName, GPT2_EOS, '</s>'].map((n) => (n === undefined ? undefined : tok.token_to_id(n))).find((id) => id !== undefined);
  if (eosId === undefined) {
    throw new LocusError('missing-tokenizer', `${source} has no end-of-sequence token (looked for ${eosName ?? GPT2_EOS} and </s>)`);
  }
  return new HfTokenizer(tok, eosId, isByteLevel(json['decoder']));
}

class HfTokenizer implements LocusTokenizer {
  readonly vocabSize: number;
  private readonly texts: string[] = [];
  /** Per id: the bytes it stands for (byte-level only); null when it is not a byte-level spelling. */
  private readonly bytes: Array<Uint8Array | null> = [];
  private readonly added: Map<number, string>;

  constructor(
    private readonly tok: Tokenizer,
    readonly eosTokenId: number,
    private readonly byteLevel: boolean,
  ) {
    this.vocabSize = tok.model?.vocab.length ?? 0;
    this.added = new Map([...tok.get_added_tokens_decoder()].map(([id, t]) => [id, t.content]));
  }

  encode(text: string): Encoding {
    const ids: number[] = text === '' ? [] : this.tok.encode(text, { add_special_tokens: false }).ids;
    const tokens = ids.map((id) => this.tokenText(id));
    const offsets = (this.byteLevel && this.byteOffsets(text, ids)) || greedyOffsets(text, tokens);
    return { ids, tokens, offsets };
  }

  decode(ids: number[]): string {
    ids.forEach((id) => this.checkId(id));
    if (ids.length === 0) return '';
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenText(id: number): string {
    let t = this.texts[id];
    if (t === undefined) {
      this.checkId(id);
      t = this.texts[id] = this.tok.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    }
    return t;
  }

  findSpan(enc: Encoding, text: string, sub: string, from = 0): [number, number] {
    const start = sub === '' ? -1 : text.indexOf(sub, from);
    if (start < 0) {
      throw new LocusError('bad-input', `the prompt ${JSON.stringify(text)} does not contain the subject ${JSON.stringify(sub)}`);
    }
    const end = start + sub.length;
    let b = -1;
    let e = -1;
    enc.offsets.forEach(([s, t], i) => {
      if (s < end && t > start) {
        if (b < 0) b = i;
        e = i + 1;
      }
    });
    if (b < 0) throw new LocusError('bad-input', `no token of the encoding covers ${JSON.stringify(sub)} in ${JSON.stringify(text)}`);
    return [b, e];
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.tok.id_to_token(id) === undefined) {
      throw new LocusError('bad-input', `token id ${id} is not in the vocabulary (0..${this.vocabSize - 1})`);
    }
  }

  private tokenBytes(id: number): Uint8Array | null {
    let b = this.bytes[id];
    if (b === undefined) {
      const content = this.added.get(id);
      // Added tokens are matched verbatim in the text, not spelled in the byte alphabet.
      b = this.bytes[id] = content !== undefined ? new TextEncoder().encode(content) : byteLevelToBytes(this.tok.id_to_token(id) as string);
    }
    return b;
  }

  /** Exact offsets from token bytes, or null when the tokens' bytes are not the text's UTF-8 bytes. */
  private byteOffsets(text: string, ids: number[]): Array<[number, number]> | null {
    const { bytes, charStart, charEnd } = utf8Layout(text);
    const out: Array<[number, number]> = [];
    let pos = 0;
    for (const id of ids) {
      const tb = this.tokenBytes(id);
      if (tb === null || pos + tb.length > bytes.length) return null;
      for (let k = 0; k < tb.length; k++) if (bytes[pos + k] !== tb[k]) return null;
      const at = pos < bytes.length ? charStart[pos] : text.length;
      out.push(tb.length === 0 ? [at, at] : [at, charEnd[pos + tb.length - 1]]);
      pos += tb.length;
    }
    return pos === bytes.length ? out : null;
  }
}

/**
 * Fallback offsets for tokenizers whose tokens are not byte spellings (SentencePiece/Metaspace,
 * WordPiece) or that normalize the text: each token's decoded text (also without its leading
 * whitespace) is looked up left to right, skipping only whitespace; its span then starts at the end of
 * the previous one, so the skipped whitespace belongs to it as in GPT-2. A token that cannot be found
 * (normalized text, a partial byte) gets an empty span at the cursor. Spans stay monotone.
 */
function greedyOffsets(text: string, tokens: string[]): Array<[number, number]> {
  let cursor = 0;
  return tokens.map((piece): [number, number] => {
    for (const cand of [piece, piece.trimStart()]) {
      if (cand === '') continue;
      const at = text.indexOf(cand, cursor);
      if (at >= 0 && text.slice(cursor, at).trim() === '') {
        const span: [number, number] = [cursor, at + cand.length];
        cursor = span[1];
        return span;
      }
    }
    return [cursor, cursor];
  });
}
