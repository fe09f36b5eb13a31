import type { ParamGetter } from '../graph/segments';
import type { ParamName } from './names';
import type { SegmentKey, SessionCache } from './sessions';
import type { Tensor } from '../tensor/tensor';
import { layerOf } from './names';

/** The segments whose graphs bake in a parameter: its block, or the head. */
export function segmentsReading(name: ParamName): (key: SegmentKey) => boolean {
  const m = /^blocks\.(\d+)\./.exec(name);
  if (m) return (key) => key.startsWith(`block.${m[1]}.`);
  return (key) => key === 'unembed';
}

/**
 * In-memory parameter values that replace the file's (edits). The user's files are never written.
 * Invariant: every session built after `set`/`clear` reads the current value, because the affected
 * segments are released first.
 */
export class ParamOverrides {
  private readonly values = new Map<ParamName, Tensor>();

  constructor(
    private readonly base: ParamGetter,
    private readonly sessions: () => SessionCache,
  ) {}

  readonly get: ParamGetter = (name) => this.values.get(name) ?? this.base(name);

  /** The unedited value (from the model's files). */
  original(name: ParamName): Tensor {
    return this.base(name);
  }

  /** The in-memory value replacing the file's, if any (EditStack records it as a baseline to return to). */
  override(name: ParamName): Tensor | undefined {
    return this.values.get(name);
  }

  /**
   * Runs `job` on the file's weights: the current values are set aside as they are (the same tensors,
   * nothing recomputed) and put back afterwards, whatever happens. `job` must leave no value of its own
   * behind (its stacks reverted), since the set-aside values replace whatever it leaves.
   */
  async onFileWeights<T>(job: () => Promise<T>): Promise<T> {
    const kept = new Map(this.values);
    for (const name of kept.keys()) await this.clear(name);
    try {
      return await job();
    } finally {
      for (const name of [...this.values.keys()]) if (!kept.has(name)) await this.clear(name);
      for (const [name, value] of kept) await this.set(name, value);
    }
  }

  async set(name: ParamName, value: Tensor): Promise<void> {
    this.values.set(name, value);
    await this.sessions().invalidateParam(name, segmentsReading(name));
  }

  async clear(name: ParamName): Promise<void> {
    if (!this.values.delete(name)) return;
    await this.sessions().invalidateParam(name, segmentsReading(name));
  }

  names(): ParamName[] {
    return [...this.values.keys()];
  }

  isEdited(layer: number): boolean {
    return [...this.values.keys()].some((n) => layerOf(n as never) === layer);
  }
}
