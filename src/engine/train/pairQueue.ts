/**
 * The BPE trainer's priority queue of symbol pairs: a binary max-heap of (count, pair key) entries.
 *
 * Order: higher count first; among equal counts, the smaller key first. With key = left·2^24 + right
 * (see pairKey) that is the pair with the smaller left id, then the smaller right id: the tie rule of
 * Hugging Face's BpeTrainer, which makes training a pure function of its input.
 *
 * Entries may be stale (the trainer validates each popped entry against its live counts), so one pair
 * can appear several times; the heap itself knows nothing of that.
 */

/** Room for 2^24 symbol ids; keys stay below 2^48, exact in a double. */
const RIGHT_SPAN = 0x1000000;
export const MAX_SYMBOLS = RIGHT_SPAN;

export const pairKey = (left: number, right: number): number => left * RIGHT_SPAN + right;
export const pairLeft = (key: number): number => Math.floor(key / RIGHT_SPAN);
export const pairRight = (key: number): number => key % RIGHT_SPAN;

export class PairQueue {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    this.up(this.keys.length - 1);
  }

  /** The first entry in queue order, removed; undefined when empty. */
  pop(): { count: number; key: number } | undefined {
    const n = this.keys.length;
    if (n === 0) return undefined;
    const top = { count: this.counts[0], key: this.keys[0] };
    const lastCount = this.counts.pop() as number;
    const lastKey = this.keys.pop() as number;
    if (n > 1) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      this.down(0);
    }
    return top;
  }

  /** True if entry i comes before entry j in queue order. */
  private before(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i];
    this.counts[i] = this.counts[j];
    this.counts[j] = c;
    const k = this.keys[i];
    this.keys[i] = this.keys[j];
    this.keys[j] = k;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.keys.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const child = r < n && this.before(r, l) ? r : l;
      if (!this.before(child, i)) return;
      this.swap(i, child);
      i = child;
    }
  }
}
