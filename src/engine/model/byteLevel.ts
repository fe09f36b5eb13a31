/**
 * GPT-2's byte-level alphabet and the byte ↔ UTF-16 bookkeeping that token offsets need.
 *
 * Byte-level BPE spells every byte 0..255 as one printable character (OpenAI's `bytes_to_unicode`):
 * bytes that are already printable Latin-1 stand for themselves, the other 68 are moved to U+0100..
 * U+0143 in byte order. A token string of such characters therefore names exact UTF-8 bytes, which is
 * what lets us compute offsets although @huggingface/tokenizers returns none.
 *
 * Also GPT-2's file formats: merges.txt and the tokenizer.json equivalent of vocab.json + merges.txt.
 */
import { LocusError } from '../errors';

export const GPT2_EOS = '<|endoftext|>';

function buildByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b); // '!'..'~'
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b); // '¡'..'¬'
  for (let b = 0xae; b <= 0xff; b++) printable.push(b); // '®'..'ÿ'
  const table = new Array<string>(256);
  for (const b of printable) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  }
  return table;
}

/** BYTE_TO_CHAR[b] is the one-char spelling of byte b; all 256 are distinct BMP characters. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** The inverse of BYTE_TO_CHAR, keyed by UTF-16 code unit. */
const CHAR_TO_BYTE: ReadonlyMap<number, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c.charCodeAt(0), b]));

/** The bytes a byte-level token string stands for, or null if it holds a character outside the alphabet. */
export function byteLevelToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token.charCodeAt(i));
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

/** How `text` lays out in UTF-8, per byte; see utf8Layout. */
export interface Utf8Layout {
  /** The UTF-8 encoding of the text, as TextEncoder gives it (a lone surrogate becomes EF BF BD). */
  readonly bytes: Uint8Array;
  /** charStart[b]: UTF-16 index where the character holding byte b starts. */
  readonly charStart: Int32Array;
  /** charEnd[b]: UTF-16 index just past the character holding byte b. */
  readonly charEnd: Int32Array;
}

export function utf8Layout(text: string): Utf8Layout {
  const bytes = new TextEncoder().encode(text);
  const charStart = new Int32Array(bytes.length);
  const charEnd = new Int32Array(bytes.length);
  let b = 0;
  for (let i = 0; i < text.length; ) {
    // codePointAt returns the surrogate itself for a lone one: 3 bytes, as TextEncoder's U+FFFD.
    const cp = text.codePointAt(i) as number;
    const units = cp > 0xffff ? 2 : 1;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < n; k++) {
      charStart[b + k] = i;
      charEnd[b + k] = i + units;
    }
    b += n;
    i += units;
  }
  // Invariant: the walk above counted exactly the bytes TextEncoder produced.
  if (b !== bytes.length) throw new Error(`utf8Layout: counted ${b} bytes, TextEncoder gave ${bytes.length}`);
  return { bytes, charStart, charEnd };
}

/** The merge rules of a merges.txt ("a b" per line); the "#version" header and blank lines are skipped. */
export function parseMergesTxt(text: string, file = 'merges.txt'): string[] {
  const merges: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    if (line.split(' ').length !== 2) {
      throw new LocusError('bad-config', `${file} line ${i + 1} is not a merge of two symbols: ${JSON.stringify(line)}`);
    }
    merges.push(line);
  });
  return merges;
}

/**
 * The tokenizer.json that Hugging Face writes for GPT-2, built from vocab.json + merges.txt: byte-level
 * BPE, no normalizer, the GPT-2 split regex, and `<|endoftext|>` as a special added token when the
 * vocabulary has it. The Rust `tokenizers` crate reads it too (merges kept in the "a b" string form).
 */
export function gpt2TokenizerJson(vocab: Record<string, number>, merges: string[]): Record<string, unknown> {
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean): Record<string, unknown> => ({
    type: 'ByteLevel',
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  const eos = vocab[GPT2_EOS];
  const added =
    eos === undefined
      ? []
      : [{ id: eos, content: GPT2_EOS, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}
