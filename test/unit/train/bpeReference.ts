/**
 * Slow, obviously-correct references for the BPE trainer tests, written independently of
 * src/engine/train: OpenAI's encoder.py BPE (greedy by merge rank) and a trainer that recounts every
 * pair after every merge. Not a test file itself (no test() calls).
 */
import { BYTE_TO_CHAR } from '../../../src/engine/model/byteLevel';

const SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's pre-tokens of `text`, each spelled in the byte alphabet. */
export function referencePreTokens(text: string): string[] {
  const enc = new TextEncoder();
  return (text.match(SPLIT) ?? []).map((piece) => Array.from(enc.encode(piece), (b) => BYTE_TO_CHAR[b]).join(''));
}

const ranks = new WeakMap<string[], Map<string, number>>();

/**
 * encoder.py's bpe(): repeatedly take the adjacent pair of lowest merge rank and merge all its
 * occurrences left to right, until no pair is ranked. Returns the ids of all pre-tokens.
 */
export function referenceEncode(text: string, vocab: Record<string, number>, merges: string[]): number[] {
  let rank = ranks.get(merges);
  if (rank === undefined) ranks.set(merges, (rank = new Map(merges.map((m, i) => [m, i]))));
  const ids: number[] = [];
  for (const pre of referencePreTokens(text)) {
    let word = Array.from(pre);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = rank.get(word[i] + ' ' + word[i + 1]);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      const [a, b] = [word[best], word[best + 1]];
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i += 2;
        } else next.push(word[i++]);
      }
      word = next;
    }
    for (const t of word) {
      const id = vocab[t];
      if (id === undefined) throw new Error(`reference: ${JSON.stringify(t)} not in vocab`);
      ids.push(id);
    }
  }
  return ids;
}

/**
 * The trainer's specification without its bookkeeping: count every pair of every word afresh, merge
 * the most frequent (ties: smaller left id, then smaller right id), repeat. `byteIds` gives the
 * initial symbol ids; new tokens get the next ids in creation order. Returns the merges.
 */
export function naiveTrain(texts: string[], byteIds: Record<string, number>, vocabSize: number, minFrequency: number): string[] {
  const counts = new Map<string, number>();
  for (const t of texts) for (const p of referencePreTokens(t)) counts.set(p, (counts.get(p) ?? 0) + 1);
  const tokens: string[] = [];
  const ids = new Map<string, number>();
  for (const [t, id] of Object.entries(byteIds)) {
    tokens[id] = t;
    ids.set(t, id);
  }
  const words = [...counts].map(([w, f]) => ({ syms: Array.from(w, (c) => ids.get(c) as number), f }));
  const merges: string[] = [];
  while (tokens.length < vocabSize - 1) {
    const pairs = new Map<string, { a: number; b: number; n: number }>();
    for (const { syms, f } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = syms[i] + ',' + syms[i + 1];
        const e = pairs.get(k) ?? { a: syms[i], b: syms[i + 1], n: 0 };
        e.n += f;
        pairs.set(k, e);
      }
    }
    let best: { a: number; b: number; n: number } | undefined;
    for (const e of pairs.values()) {
      if (!best || e.n > best.n || (e.n === best.n && (e.a < best.a || (e.a === best.a && e.b < best.b)))) best = e;
    }
    if (!best || best.n < minFrequency) break;
    const { a, b } = best;
    const text = tokens[a] + tokens[b];
    let id = ids.get(text);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(text);
      ids.set(text, id);
    }
    merges.push(tokens[a] + ' ' + tokens[b]);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.syms.length; ) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(id);
          i += 2;
        } else out.push(w.syms[i++]);
      }
      w.syms = out;
    }
  }
  return merges;
}
