/**
 * Work an edit does on the unedited model that does not depend on the edit itself: the problem's
 * request (Tracing Reversal's o_noise), the measurement before the edit, the sampled context
 * templates. A study runs every method × layer of one fact on the same unedited model (each edit is
 * reverted), so it computes these once and shares them (study/run.ts). Whoever shares one must keep
 * the model's weights unchanged between the edits that use it.
 */
export class EditReuse {
  private readonly done = new Map<string, Promise<unknown>>();

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
