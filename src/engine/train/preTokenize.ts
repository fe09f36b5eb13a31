/**
 * GPT-2's byte-level pre-tokenization, for the BPE trainer: the same split regex and byte alphabet
 * that the loader's ByteLevel pre-tokenizer applies at encode time, so the words the trainer counts
 * are exactly the units its merges will later be applied to.
 */
import { LocusError } from '../errors';
import { BYTE_TO_CHAR, GPT2_EOS } from '../model/byteLevel';

/**
 * GPT-2's split pattern (OpenAI encoder.py; Hugging Face ByteLevel with use_regex). Every character
 * of a text falls in some match (the last alternative takes any whitespace), so the pieces
 * concatenate back to the text.
 */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * The 256 byte symbols in GPT-2's id order: vocab.json gives ids 0..255 in bytes_to_unicode's list
 * order (the printable bytes, then the 68 remapped ones in byte order), which is exactly ascending
 * code point of the symbol, because the printable ones stand for themselves (< U+0100) and the
 * remapped ones are U+0100.. in byte order.
 */
export const BYTE_SYMBOLS: readonly string[] = [...BYTE_TO_CHAR].sort((x, y) => x.charCodeAt(0) - y.charCodeAt(0));

/** BYTE_ID[b]: the vocabulary id of byte b (BYTE_SYMBOLS[BYTE_ID[b]] === BYTE_TO_CHAR[b]). */
export const BYTE_ID: Int32Array = (() => {
  const ids = new Int32Array(256);
  BYTE_TO_CHAR.forEach((c, b) => (ids[b] = BYTE_SYMBOLS.indexOf(c)));
  return ids;
})();

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LocusError('cancelled', 'BPE training was cancelled');
}

/** A piece's UTF-8 bytes spelled in the byte alphabet (what the loader's pre-tokenizer yields). */
export function byteLevelSpelling(piece: string, encoder = new TextEncoder()): string {
  let out = '';
  for (const b of encoder.encode(piece)) out += BYTE_TO_CHAR[b];
  return out;
}

/** The pre-tokens of one text, as raw strings (before the byte mapping). */
export function splitGpt2(text: string): string[] {
  return text.match(GPT2_SPLIT) ?? [];
}

/**
 * Counts the byte-level words of `texts`: byte-level spelling → number of occurrences.
 * A literal `<|endoftext|>` is a document separator, never text: the loader matches it as the
 * special token before pre-tokenizing, so its characters are dropped here rather than spent on merges.
 * Map order is first occurrence, so the result is a deterministic function of the input sequence.
 */
export function countWords(texts: Iterable<string>, signal?: AbortSignal): Map<string, number> {
  const raw = new Map<string, number>();
  for (const text of texts) {
    checkAborted(signal);
    for (const part of text.split(GPT2_EOS)) {
      for (const piece of splitGpt2(part)) raw.set(piece, (raw.get(piece) ?? 0) + 1);
    }
  }
  // Raw pieces map to byte spellings injectively except lone surrogates (all become EF BF BD),
  // hence the second map rather than a 1:1 rename.
  const words = new Map<string, number>();
  const encoder = new TextEncoder();
  for (const [piece, n] of raw) {
    const w = byteLevelSpelling(piece, encoder);
    words.set(w, (words.get(w) ?? 0) + n);
  }
  return words;
}
