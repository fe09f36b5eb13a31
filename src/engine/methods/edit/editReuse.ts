/**
 * Work an edit does on the unedited model that does not depend on the edit itself: the problem's
 * request (Tracing Reversal's o_noise), the measurement before the edit, the sampled context
 * templates. A study runs every method × layer of one fact on the same unedited model (each edit is
 * reverted), so it computes these once and shares them (study/run.ts). Whoever shares one must keep
 * the model's weights unchanged between the edits that use it.
 */
export class EditReuse {
  /** Bytes of large values (second moments) kept at most: a study over every layer of GPT-2 XL would otherwise hold 48 × 328 MB. */
  static readonly LARGE_BUDGET = 512 * 2 ** 20;
  private readonly done = new Map<string, Promise<unknown>>();
  private readonly large: Array<{ key: string; bytes: number }> = [];

  /**
   * As `get`, for a value of about `bytes` bytes: the oldest large values are dropped once they hold more
   * than LARGE_BUDGET in all, and a value larger than the budget alone is made and not kept.
   */
  getLarge<T>(key: string, bytes: number, make: () => Promise<T>): Promise<T> {
    if (this.done.has(key)) return this.get(key, make);
    if (bytes > EditReuse.LARGE_BUDGET) return make();
    this.large.push({ key, bytes });
    let total = this.large.reduce((s, e) => s + e.bytes, 0);
    while (total > EditReuse.LARGE_BUDGET) {
      const old = this.large.shift()!;
      this.done.delete(old.key);
      total -= old.bytes;
    }
    return this.get(key, make);
  }

  /** The value made under `key` before, or `make()`'s (kept only when it succeeds). */
  get<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.done.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.done.set(key, p);
      p.catch(() => this.done.delete(key));
    }
    return p;
  }
}

/** Runs `make` directly without a reuse cache. */
export const reused = <T>(reuse: EditReuse | undefined, key: string, make: () => Promise<T>): Promise<T> => (reuse ? reuse.get(key, make) : make());
