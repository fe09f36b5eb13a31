/**
 * A deterministic byte-level BPE trainer in GPT-2's style, for Locus's own embedded model.
 *
 * Texts are pre-tokenized exactly as the loader will (GPT-2 split regex, UTF-8 bytes spelled in the
 * byte alphabet; see preTokenize.ts), the distinct words are counted, and the most frequent adjacent
 * symbol pair is merged repeatedly. Pair counts are maintained incrementally, as in Hugging Face's
 * BpeTrainer: `counts` holds the live weighted count of every pair, `where` a superset of the words
 * containing it, and a lazy max-heap (pairQueue.ts) orders candidates; a merge touches only the words
 * that contain its pair, so training costs about the total length of the words merged, not
 * merges × corpus.
 *
 * Tie rule: among pairs of equal count the one with the smaller left id wins, then the smaller right
 * id (ids: the 256 bytes in GPT-2's order, then new tokens in creation order). The result is therefore
 * a pure function of the text sequence and the options.
 *
 * Vocabulary layout (GPT-2's): ids 0..255 the byte symbols, then one id per new token in merge order,
 * then `<|endoftext|>` as the last id.
 */
import { LocusError } from '../errors';
import { GPT2_EOS } from '../model/byteLevel';
import { MAX_SYMBOLS, PairQueue, pairKey, pairLeft, pairRight } from './pairQueue';
import { BYTE_SYMBOLS, checkAborted, countWords } from './preTokenize';

export { bpeTokenizerJson, saveTokenizerJson } from './tokenizerFiles';
export type { SaveTokenizerOptions } from './tokenizerFiles';

export interface BpeTrainOptions {
  /** Total vocabulary size wanted: the 256 byte symbols, the learned tokens and `<|endoftext|>`. */
  vocabSize: number;
  /** Stop when the most frequent pair occurs fewer times than this (default 2: a pair seen once is memorized text, not a reusable unit). */
  minFrequency?: number;
  /** Checked between texts and between merges; aborting throws LocusError('cancelled'). */
  signal?: AbortSignal;
  /** Called after each merge: learned tokens so far, and the target (vocabSize − 257). */
  onProgress?: (done: number, total: number) => void;
}

export interface BpeResult {
  /** token (byte-alphabet spelling) → id; ids are 0..N−1 with N−1 = `<|endoftext|>`. */
  vocab: Record<string, number>;
  /** Merge rules "left right" in rank order, as in merges.txt. */
  merges: string[];
}

/** Byte symbols + end-of-text: the smallest vocabulary there is. */
const BASE_SIZE = BYTE_SYMBOLS.length + 1;

export function trainBpe(texts: Iterable<string>, opts: BpeTrainOptions): BpeResult {
  const { vocabSize, minFrequency = 2, signal, onProgress } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize < BASE_SIZE || vocabSize > MAX_SYMBOLS) {
    throw new LocusError('bad-input', `vocabSize must be an integer in ${BASE_SIZE}..${MAX_SYMBOLS}, got ${vocabSize}`);
  }
  if (!Number.isFinite(minFrequency) || minFrequency < 0) {
    throw new LocusError('bad-input', `minFrequency must be a non-negative number, got ${minFrequency}`);
  }
  checkAborted(signal);
  const state = new MergeState(countWords(texts, signal));
  const merges: string[] = [];
  const seenMerges = new Set<string>();
  const target = vocabSize - BASE_SIZE;
  onProgress?.(0, target);

  while (state.tokens.length < vocabSize - 1) {
    checkAborted(signal);
    const key = state.nextPair(minFrequency);
    if (key === undefined) break;
    const rule = state.tokens[pairLeft(key)] + ' ' + state.tokens[pairRight(key)];
    state.merge(key);
    // A pair can recur only if a later merge re-creates an existing token string next to its
    // partner; the rule is already ranked then, and listing it twice would change its rank.
    if (!seenMerges.has(rule)) {
      seenMerges.add(rule);
      merges.push(rule);
    }
    onProgress?.(state.tokens.length - BYTE_SYMBOLS.length, target);
  }

  const entries: Array<[string, number]> = state.tokens.map((t, i) => [t, i]);
  entries.push([GPT2_EOS, state.tokens.length]);
  // fromEntries defines own properties, so no token string can reach Object.prototype.
  return { vocab: Object.fromEntries(entries), merges };
}

/** The words being merged and the pair statistics over them. */
class MergeState {
  /** tokens[id]: the byte-alphabet spelling of symbol id. Invariant: distinct strings. */
  readonly tokens: string[] = [...BYTE_SYMBOLS];
  private readonly ids = new Map<string, number>(BYTE_SYMBOLS.map((t, i) => [t, i]));
  /** words[w]: the current symbols of distinct word w; freqs[w]: its number of occurrences. */
  private readonly words: Int32Array[] = [];
  private readonly freqs: number[] = [];
  /** Live weighted count of each adjacent pair; absent means 0. */
  private readonly counts = new Map<number, number>();
  /** Words that may contain each pair (a superset: entries are never removed when a word loses a pair). */
  private readonly where = new Map<number, Set<number>>();
  /** Invariant: every pair with a positive live count has an entry of count ≥ it in the queue. */
  private readonly queue = new PairQueue();

  constructor(wordCounts: Map<string, number>) {
    for (const [word, freq] of wordCounts) {
      const w = this.words.length;
      const syms = Int32Array.from(word, (c) => this.ids.get(c) as number);
      this.words.push(syms);
      this.freqs.push(freq);
      for (let i = 0; i + 1 < syms.length; i++) this.add(pairKey(syms[i], syms[i + 1]), freq, w);
    }
    for (const [key, count] of this.counts) this.queue.push(count, key);
  }

  /** The pair to merge next (highest live count, then smallest key), or undefined when none reaches minFrequency. */
  nextPair(minFrequency: number): number | undefined {
    for (;;) {
      const top = this.queue.pop();
      if (top === undefined) return undefined;
      const live = this.counts.get(top.key) ?? 0;
      if (live === top.count) return live > 0 && live >= minFrequency ? top.key : undefined;
      // Stale. Counts only grow through merge(), which then pushes a fresh entry, so a live count
      // above this entry's is already queued; a lower one must be re-queued to keep the invariant.
      if (live > 0 && live < top.count) this.queue.push(live, top.key);
    }
  }

  /** Merges every occurrence of pair `key` in every word, left to right, and updates the statistics. */
  merge(key: number): void {
    const a = pairLeft(key);
    const b = pairRight(key);
    const text = this.tokens[a] + this.tokens[b];
    let id = this.ids.get(text);
    if (id === undefined) {
      id = this.tokens.length;
      this.tokens.push(text);
      this.ids.set(text, id);
    }
    const grown = new Set<number>();
    for (const w of this.where.get(key) ?? []) this.mergeWord(w, a, b, id, grown);
    // Every occurrence is gone now (in a run like "a a a" the leftover a has no partner).
    this.counts.delete(key);
    this.where.delete(key);
    for (const k of grown) {
      const c = this.counts.get(k);
      if (c !== undefined) this.queue.push(c, k);
    }
  }

  /**
   * Hugging Face's Word::merge: each occurrence of (a, b) becomes `id`; the pairs it broke lose the
   * word's frequency and the pairs it formed gain it. When two occurrences are adjacent ("a b a b")
   * the second sees the first's `id` as its left neighbour, so the temporary (id, a) cancels out.
   */
  private mergeWord(w: number, a: number, b: number, id: number, grown: Set<number>): void {
    const syms = this.words[w];
    const n = syms.length;
    let i = 0;
    while (i + 1 < n && !(syms[i] === a && syms[i + 1] === b)) i++;
    if (i + 1 >= n) return; // `where` is a superset: this word no longer holds the pair
    const f = this.freqs[w];
    const out = new Int32Array(n);
    out.set(syms.subarray(0, i));
    let m = i;
    while (i < n) {
      if (i + 1 < n && syms[i] === a && syms[i + 1] === b) {
        if (m > 0) {
          const prev = out[m - 1];
          this.add(pairKey(prev, a), -f, w);
          grown.add(this.add(pairKey(prev, id), f, w));
        }
        if (i + 2 < n) {
          const next = syms[i + 2];
          this.add(pairKey(b, next), -f, w);
          grown.add(this.add(pairKey(id, next), f, w));
        }
        out[m++] = id;
        i += 2;
      } else {
        out[m++] = syms[i++];
      }
    }
    this.words[w] = out.slice(0, m);
  }

  /** counts[key] += delta; a positive delta also records that word w holds the pair. Returns key. */
  private add(key: number, delta: number, w: number): number {
    const c = (this.counts.get(key) ?? 0) + delta;
    if (c === 0) this.counts.delete(key);
    else this.counts.set(key, c);
    if (delta > 0) {
      let set = this.where.get(key);
      if (set === undefined) this.where.set(key, (set = new Set()));
      set.add(w);
    }
    return key;
  }
}
