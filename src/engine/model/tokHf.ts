/**
 * LocusTokenizer over @huggingface/tokenizers (pure JS; its ids are identical to Hugging Face's Rust
 * tokenizer on every CounterFact prompt for the Llama 2, Llama 3, Qwen 3 and Gemma 3 files, see
 * test/model/tokenizerFamilies.test.ts). That library returns no offsets, so they are computed here
 * from the tokens' bytes (tokOffsets.ts) and checked against Rust's in the same test.
 */
import { LocusError } from '../errors';
import { byteLevelToBytes } from './byteLevel';
import { exactOffsets, trimSpaceOffsets } from './tokOffsets';
import type { AddedToken, OffsetModel } from './tokOffsets';
import { continuationJson, textSteps } from './tokNormalize';
import type { Encoding, LocusTokenizer, Tokenizer } from './tokenizer';

type Json = Record<string, unknown>;

export interface HfParts {
  /** Tokenizes a prompt (the file as it is). */
  readonly tok: Tokenizer;
  /** Builds the tokenizer for continuations (nothing prepended); called once, when first needed. */
  readonly continuation: () => Tokenizer;
  readonly json: Json;
  readonly eosId: number;
  readonly prefix: readonly number[];
  /** Token strings spell bytes in GPT-2's alphabet (a ByteLevel decoder). */
  readonly byteLevel: boolean;
}

const BYTE_FALLBACK = /^<0x([0-9A-Fa-f]{2})>$/;

/** The character SentencePiece-style files write for a space (Metaspace, or Replace " " → "▁"), if any. */
function spaceMark(json: Json): string | undefined {
  let found: string | undefined;
  const visit = (c: unknown): void => {
    if (c === null || typeof c !== 'object') return;
    const o = c as Json;
    if (o['type'] === 'Metaspace') found ??= (o['replacement'] as string | undefined) ?? '\u2581';
    if (o['type'] === 'Replace' && (o['pattern'] as Json | undefined)?.['String'] === ' ') found ??= o['content'] as string;
    for (const list of ['normalizers', 'pretokenizers']) if (Array.isArray(o[list])) (o[list] as unknown[]).forEach(visit);
  };
  visit(json['normalizer']);
  visit(json['pre_tokenizer']);
  return found;
}

/** A ByteLevel post-processor (alone or in a Sequence) with trim_offsets: its add_prefix_space. */
function offsetTrim(processor: unknown): { addPrefixSpace: boolean } | undefined {
  if (processor === null || typeof processor !== 'object') return undefined;
  const p = processor as Json;
  if (p['type'] === 'Sequence' && Array.isArray(p['processors'])) return p['processors'].map(offsetTrim).find((t) => t !== undefined);
  return p['type'] === 'ByteLevel' && p['trim_offsets'] === true ? { addPrefixSpace: p['add_prefix_space'] === true } : undefined;
}

export class HfTokenizer implements LocusTokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly prefixIds: readonly number[];
  readonly bosTokenId: number | undefined;
  private readonly texts: string[] = [];
  private readonly bytes: Array<Uint8Array | null> = [];
  private readonly added: Map<number, AddedToken>;
  private readonly mark: string | undefined;
  private readonly byteFallback: boolean;
  private readonly prompt: OffsetModel | null;
  private continuation: { tok: Tokenizer; offsets: OffsetModel | null } | undefined;
  /** Set when a ByteLevel post-processor trims spaces from offsets (Rust reports them trimmed). */
  private readonly trim: { addPrefixSpace: boolean } | undefined;

  constructor(private readonly parts: HfParts) {
    const { tok, json } = parts;
    this.vocabSize = tok.model?.vocab.length ?? 0;
    this.eosTokenId = parts.eosId;
    this.prefixIds = parts.prefix;
    this.bosTokenId = parts.prefix[0];
    const flags = new Map(((json['added_tokens'] ?? []) as Json[]).map((t) => [t['id'] as number, t]));
    this.added = new Map(
      [...tok.get_added_tokens_decoder()].map(([id, t]) => [
        id,
        {
          content: t.content,
          lstrip: flags.get(id)?.['lstrip'] === true,
          rstrip: flags.get(id)?.['rstrip'] === true,
          normalized: flags.get(id)?.['normalized'] === true,
        },
      ]),
    );
    this.mark = parts.byteLevel ? undefined : spaceMark(json);
    this.byteFallback = (json['model'] as Json | undefined)?.['byte_fallback'] === true;
    this.prompt = this.offsetModel(json);
    this.trim = parts.byteLevel ? offsetTrim(json['post_processor']) : undefined;
  }

  encode(text: string): Encoding {
    const body = this.run(this.parts.tok, this.prompt, text);
    if (this.prefixIds.length === 0) return body;
    return {
      ids: [...this.prefixIds, ...body.ids],
      tokens: [...this.prefixIds.map((id) => this.tokenText(id)), ...body.tokens],
      offsets: [...this.prefixIds.map((): [number, number] => [0, 0]), ...body.offsets],
    };
  }

  encodeContinuation(text: string): Encoding {
    if (this.continuation === undefined) {
      this.continuation = { tok: this.parts.continuation(), offsets: this.offsetModel(continuationJson(this.parts.json)) };
    }
    return this.run(this.continuation.tok, this.continuation.offsets, text);
  }

  decode(ids: number[]): string {
    ids.forEach((id) => this.checkId(id));
    if (ids.length === 0) return '';
    return this.parts.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenText(id: number): string {
    let t = this.texts[id];
    if (t === undefined) {
      this.checkId(id);
      t = this.texts[id] = this.textOf(id);
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

  private run(tok: Tokenizer, model: OffsetModel | null, text: string): Encoding {
    const ids: number[] = text === '' ? [] : tok.encode(text, { add_special_tokens: false }).ids;
    const tokens = ids.map((id) => this.tokenText(id));
    const offsets = (model !== null && exactOffsets(model, text, ids)) || greedyOffsets(text, tokens);
    if (this.trim !== undefined) {
      trimSpaceOffsets(offsets, ids.map((id) => this.parts.tok.id_to_token(id) ?? ''), this.trim.addPrefixSpace);
    }
    return { ids, tokens, offsets };
  }

  private offsetModel(json: Json): OffsetModel | null {
    const steps = textSteps(json);
    return steps === undefined ? null : { ...this.sharedOffsetModel(), steps };
  }

  private sharedOffsetModel(): Omit<OffsetModel, 'steps'> {
    return { added: this.added, tokenBytes: (id) => this.tokenBytes(id) };
  }

  private textOf(id: number): string {
    const added = this.added.get(id);
    if (added !== undefined) return added.content;
    if (this.mark === undefined) {
      return this.parts.tok.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    }
    // SentencePiece: decoding one id alone would strip its leading space (Llama 2's Strip decoder).
    const piece = this.parts.tok.id_to_token(id) as string;
    const byte = this.byteFallback ? BYTE_FALLBACK.exec(piece) : null;
    if (byte !== null) {
      const b = parseInt(byte[1], 16);
      return b < 0x80 ? String.fromCharCode(b) : '\uFFFD';
    }
    return piece.split(this.mark).join(' ');
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.parts.tok.id_to_token(id) === undefined) {
      throw new LocusError('bad-input', `token id ${id} is not in the vocabulary (0..${this.vocabSize - 1})`);
    }
  }

  /** The bytes token `id` spells in the normalized text (an added token: its content, as Rust matches it). */
  private tokenBytes(id: number): Uint8Array | null {
    let b = this.bytes[id];
    if (b === undefined) {
      const added = this.added.get(id);
      const piece = this.parts.tok.id_to_token(id);
      const byte = this.byteFallback && piece !== undefined ? BYTE_FALLBACK.exec(piece) : null;
      if (added !== undefined) b = new TextEncoder().encode(added.content);
      else if (piece === undefined) b = null;
      else if (this.parts.byteLevel) b = byteLevelToBytes(piece);
      else if (byte !== null) b = Uint8Array.of(parseInt(byte[1], 16));
      else b = new TextEncoder().encode(piece);
      this.bytes[id] = b;
    }
    return b;
  }
}

/**
 * Fallback offsets for tokenizers whose pipeline tokOffsets cannot replay (a Regex Replace normalizer,
 * WordPiece's `##`, an `<unk>` token): each token's decoded text (also without its leading
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
