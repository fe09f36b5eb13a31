import type { ParamGetter } from '../graph/segments';
import type { ParamName } from './names';
import type { SegmentKey, SessionCache } from './sessions';
import type { Tensor } from '../tensor/tensor';
import { layerOf } from './names';

/** The segments whose graphs bake in a parameter: its block, or the embedding / head. */
export function segmentsReading(name: ParamName): (key: SegmentKey) => boolean {
  const m = /^blocks\.(\d+)\./.exec(name);
  if (m) return (key) => key.startsWith(`block.${m[1]}.`);
  return (key) => key === 'embed' || key === 'unembed' || key === 'unembed.pick';
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
