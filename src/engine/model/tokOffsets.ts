/**
 * Exact token offsets from the tokens' bytes: the text is cut at its added (special) tokens as the Rust
 * tokenizer cuts it (AddedVocabulary, before normalization), each section is replayed through the
 * normalizer with an alignment (tokNormalize.ts), and the tokens' bytes are laid over the section's
 * normalized UTF-8 bytes. Offsets then agree with the Rust tokenizer's: a `▁`/`Ġ` token's span holds
 * the space it stands for; a character split between tokens (byte fallback, byte-level) lies wholly
 * inside each of their spans.
 */
import { utf8Layout } from './byteLevel';
import { identity } from './tokNormalize';
import type { TextStep } from './tokNormalize';

export interface AddedToken {
  readonly content: string;
  /** Rust AddedToken lstrip/rstrip: the token also takes the whitespace on that side. */
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  /** Matched in the normalized text (Rust AddedToken.normalized), not cut out of the original first. */
  readonly normalized: boolean;
}

export interface OffsetModel {
  readonly added: ReadonlyMap<number, AddedToken>;
  /** The bytes token `id` stands for in the normalized text, or null when unknown (e.g. `<unk>`). */
  tokenBytes(id: number): Uint8Array | null;
  readonly steps: readonly TextStep[];
}

/**
 * UTF-16 offsets of `ids` in `text`, or null when the tokens do not spell the normalized text.
 * An added token cuts the text only where its content stands literally there and the tokens before it
 * spell the text before it: the same id can also come out of the model's own vocabulary (Gemma's `▁▁`),
 * and an added token marked `normalized` is matched inside the normalized text, like a model token.
 */
export function exactOffsets(model: OffsetModel, text: string, ids: readonly number[]): Array<[number, number]> | null {
  const out: Array<[number, number]> = [];
  let cursor = 0;
  let run: number[] = [];
  /** Lays the pending run over text[cursor, end); false (and nothing changed) when it does not fit. */
  const flush = (end: number): boolean => {
    const spans = sectionOffsets(model, text.slice(cursor, end), cursor, run);
    if (spans === null) return false;
    out.push(...spans);
    run = [];
    cursor = end;
    return true;
  };
  for (const id of ids) {
    const special = model.added.get(id);
    const at = special === undefined || special.normalized ? -1 : text.indexOf(special.content, cursor);
    if (special !== undefined && at >= 0) {
      let s = at;
      let e = at + special.content.length;
      if (special.lstrip) while (s > cursor && /\s/.test(text[s - 1])) s--;
      if (special.rstrip) while (e < text.length && /\s/.test(text[e])) e++;
      if (flush(s)) {
        out.push([s, e]);
        cursor = e;
        continue;
      }
    }
    run.push(id);
  }
  return flush(text.length) ? out : null;
}

function sectionOffsets(model: OffsetModel, section: string, at: number, ids: readonly number[]): Array<[number, number]> | null {
  let a = identity(section, at);
  for (const step of model.steps) a = step(a, at === 0);
  const { bytes, charStart, charEnd } = utf8Layout(a.text);
  const out: Array<[number, number]> = [];
  let pos = 0;
  for (const id of ids) {
    const tb = model.tokenBytes(id);
    if (tb === null || tb.length === 0 || pos + tb.length > bytes.length) return null;
    for (let k = 0; k < tb.length; k++) if (bytes[pos + k] !== tb[k]) return null;
    out.push([a.from[charStart[pos]], a.to[charEnd[pos + tb.length - 1] - 1]]);
    pos += tb.length;
  }
  return pos === bytes.length ? out : null;
}

/**
 * A ByteLevel post-processor with `trim_offsets` (GPT-NeoX/Pythia files) moves the spaces a token
 * spells (`Ġ`) out of its offsets, as Rust's `process_offsets` (tokenizers/src/pre_tokenizers/byte_level.rs):
 * leading ones from the start, trailing ones from the end, keeping one leading space that
 * `add_prefix_space` put in front of the first token. Spans may then leave gaps; starts stay ordered.
 */
export function trimSpaceOffsets(offsets: Array<[number, number]>, pieces: readonly string[], addPrefixSpace: boolean): void {
  const SPACE = '\u0120'; // Ġ: the byte-level spelling of ' '
  offsets.forEach((span, i) => {
    const piece = pieces[i];
    let lead = 0;
    while (lead < piece.length && (piece[lead] === SPACE || /\s/.test(piece[lead]))) lead++;
    let trail = 0;
    while (trail < piece.length && (piece[piece.length - 1 - trail] === SPACE || /\s/.test(piece[piece.length - 1 - trail]))) trail++;
    if (lead > 0 && (i === 0 || span[0] === 0) && addPrefixSpace && lead === 1) lead = 0;
    if (lead > 0) span[0] = Math.min(span[0] + lead, span[1]);
    if (trail > 0 && span[1] >= trail) span[1] = Math.max(span[1] - trail, span[0]);
  });
}
