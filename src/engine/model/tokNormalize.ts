/**
 * The character-changing steps of a tokenizer.json pipeline (normalizer, then the pre-tokenizer's
 * own rewrites), replayed with an alignment to the original text, so that token offsets can be
 * computed although @huggingface/tokenizers returns none.
 *
 * Alignment rules follow Hugging Face's Rust `NormalizedString` (tokenizers/src/tokenizer/normalizer.rs):
 * a replaced range's new characters all map to the range they replaced; a prepended character maps to
 * the first original character (so Llama 2's `▁The` covers "The", and " Paris" gives `▁` = [0,1)).
 */

type Json = Record<string, unknown>;

/** A text and, per UTF-16 unit of it, the original span [from, to) that unit came from. */
export interface Aligned {
  readonly text: string;
  readonly from: readonly number[];
  readonly to: readonly number[];
}

/** One rewrite; `first` is true for the section that starts the input (Metaspace's prepend_scheme "first"). */
export type TextStep = (a: Aligned, first: boolean) => Aligned;

/** `text` aligned to itself, starting at original index `at`. */
export function identity(text: string, at: number): Aligned {
  const from: number[] = [];
  const to: number[] = [];
  for (let i = 0; i < text.length; i++) {
    from.push(at + i);
    to.push(at + i + 1);
  }
  return { text, from, to };
}

/** Replaces a.text[s, e) by `content`, every unit of which maps to the replaced range. */
class Builder {
  private text = '';
  private readonly from: number[] = [];
  private readonly to: number[] = [];
  constructor(private readonly a: Aligned) {}
  keep(s: number, e: number): void {
    this.text += this.a.text.slice(s, e);
    for (let i = s; i < e; i++) {
      this.from.push(this.a.from[i]);
      this.to.push(this.a.to[i]);
    }
  }
  put(content: string, s: number, e: number): void {
    this.text += content;
    for (let k = 0; k < content.length; k++) {
      this.from.push(this.a.from[s]);
      this.to.push(this.a.to[e - 1]);
    }
  }
  done(): Aligned {
    return { text: this.text, from: this.from, to: this.to };
  }
}

function replaceString(pattern: string, content: string): TextStep {
  return (a) => {
    if (pattern === '') return a;
    const b = new Builder(a);
    let cursor = 0;
    for (let at = a.text.indexOf(pattern); at >= 0; at = a.text.indexOf(pattern, at + pattern.length)) {
      b.keep(cursor, at);
      b.put(content, at, at + pattern.length);
      cursor = at + pattern.length;
    }
    b.keep(cursor, a.text.length);
    return b.done();
  };
}

/** Prepends `content` (Rust: NormalizedString::prepend aligns it with the first character); nothing on empty text. */
function prepend(content: string, when: (a: Aligned, first: boolean) => boolean): TextStep {
  return (a, first) => {
    if (a.text === '' || !when(a, first)) return a;
    const b = new Builder(a);
    b.put(content, 0, 1);
    b.keep(0, a.text.length);
    return b.done();
  };
}

/**
 * Unicode normalization per cluster (a character and the combining marks after it): the composition
 * NFC does never crosses a cluster boundary. Alignment as Rust's (unicode-normalization-alignments):
 * a composed character maps to the character it started from, a mark absorbed into it maps to nothing
 * (so "e\u0301" → "é" covers [0, 1) and the mark's unit lies in no token), a kept mark to itself;
 * what a decomposition or reordering yields maps to its whole cluster.
 */
function unicodeForm(form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): TextStep {
  return (a) => {
    if (a.text.normalize(form) === a.text) return a;
    const b = new Builder(a);
    for (const m of a.text.matchAll(/\P{M}\p{M}*|\p{M}+/gsu)) {
      const s = m.index;
      const e = s + m[0].length;
      const n = m[0].normalize(form);
      if (n === m[0]) {
        b.keep(s, e);
        continue;
      }
      const orig = [...m[0]];
      const out = [...n];
      const shift = orig.length - out.length;
      // Composition absorbs the marks right after the base: the rest keep their places at the end.
      const composed = shift >= 0 && out.slice(1).every((c, i) => c === orig[i + 1 + shift]);
      let at = s;
      const starts = orig.map((c) => ((at += c.length), at - c.length));
      out.forEach((c, i) => {
        if (!composed) return b.put(c, s, e); // a decomposition or reordering: the whole cluster
        const o = i === 0 ? 0 : i + shift;
        b.put(c, starts[o], starts[o] + orig[o].length);
      });
    }
    return b.done();
  };
}

function lowercase(): TextStep {
  return (a) => {
    const b = new Builder(a);
    for (const m of a.text.matchAll(/[\s\S]/gu)) {
      const s = m.index;
      const low = m[0].toLowerCase();
      if (low === m[0]) b.keep(s, s + m[0].length);
      else b.put(low, s, s + m[0].length);
    }
    return b.done();
  };
}

/** The steps of a normalizer; undefined when one is not replayable (its offsets would be guesses). */
function normalizerSteps(n: unknown): TextStep[] | undefined {
  if (n === null || n === undefined) return [];
  const c = n as Json;
  switch (c['type']) {
    case 'Sequence': {
      const parts = (c['normalizers'] as unknown[]).map(normalizerSteps);
      return parts.some((p) => p === undefined) ? undefined : (parts as TextStep[][]).flat();
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return [unicodeForm(c['type'])];
    case 'Lowercase':
      return [lowercase()];
    case 'Prepend':
      return [prepend(c['prepend'] as string, () => true)];
    case 'Replace': {
      const pattern = (c['pattern'] as Json)['String'];
      return typeof pattern === 'string' ? [replaceString(pattern, c['content'] as string)] : undefined;
    }
    default:
      return undefined;
  }
}

/** Metaspace (tokenizers ≥ 0.14 spells prepend_scheme; older files add_prefix_space): ' ' → ▁, then maybe a ▁ in front. */
function metaspace(c: Json): TextStep[] {
  const mark = (c['replacement'] as string | undefined) ?? '\u2581';
  const scheme = (c['prepend_scheme'] as string | undefined) ?? (c['add_prefix_space'] === false ? 'never' : 'always');
  const wanted = (a: Aligned, first: boolean): boolean =>
    !a.text.startsWith(mark) && (scheme === 'always' || (scheme === 'first' && first));
  return [replaceString(' ', mark), prepend(mark, wanted)];
}

/**
 * The rewrites a pre-tokenizer makes (most only split). A rewrite after a split would apply per
 * piece, which this replay does not model, so that case is refused (undefined), as are pieces removed.
 */
function preTokenizerSteps(p: unknown, afterSplit = false): TextStep[] | undefined {
  if (p === null || p === undefined) return [];
  const c = p as Json;
  switch (c['type']) {
    case 'Sequence': {
      const out: TextStep[] = [];
      let split = afterSplit;
      for (const part of c['pretokenizers'] as unknown[]) {
        const s = preTokenizerSteps(part, split);
        if (s === undefined) return undefined;
        out.push(...s);
        split = true;
      }
      return out;
    }
    case 'Metaspace':
      return afterSplit ? undefined : metaspace(c);
    case 'ByteLevel':
      if (c['add_prefix_space'] !== true) return [];
      return afterSplit ? undefined : [prepend(' ', (a) => !a.text.startsWith(' '))];
    case 'Split':
      return c['behavior'] === 'Removed' ? undefined : [];
    case 'Digits':
    case 'Punctuation':
      return [];
    default:
      return undefined;
  }
}

/** Normalizer then pre-tokenizer rewrites of a tokenizer.json; undefined when any is not replayable. */
export function textSteps(json: Json): TextStep[] | undefined {
  const n = normalizerSteps(json['normalizer']);
  const p = preTokenizerSteps(json['pre_tokenizer']);
  return n === undefined || p === undefined ? undefined : [...n, ...p];
}

/**
 * The same tokenizer.json for text that continues a prompt: no `▁`/space prepended in front (Prepend
 * normalizer dropped, Metaspace prepend_scheme "never", ByteLevel add_prefix_space false). Llama 2
 * encodes " Paris" alone as `▁ ▁Paris`, but after "located in" the model reads `▁Paris`.
 */
export function continuationJson(json: Json): Json {
  const strip = (c: unknown, list: string): unknown => {
    if (c === null || typeof c !== 'object') return c;
    const o = c as Json;
    if (o['type'] === 'Sequence' && Array.isArray(o[list])) {
      return { ...o, [list]: (o[list] as unknown[]).filter((x) => (x as Json)['type'] !== 'Prepend').map((x) => strip(x, list)) };
    }
    if (o['type'] === 'Prepend') return null;
    if (o['type'] === 'Metaspace') return { ...o, prepend_scheme: 'never', add_prefix_space: false };
    if (o['type'] === 'ByteLevel') return { ...o, add_prefix_space: false };
    return o;
  };
  return { ...json, normalizer: strip(json['normalizer'], 'normalizers'), pre_tokenizer: strip(json['pre_tokenizer'], 'pretokenizers') };
}
