/**
 * Fed weights (issue 17, "lean weights"): a big model's graphs take their parameters as graph inputs
 * fed on every run from the one copy the engine holds, instead of constant initializers that ORT copies
 * (parses the ModelProto, copies each initializer, prepacks MatMul weights). Measured on a 512 MB
 * block of float32 MatMuls: baked, session creation peaks at 3× the weights and takes seconds; fed,
 * it takes 0.6 s and holds nothing (ORT packs B per call, which for M ≥ a few rows costs a K·N pass
 * against the M·K·N product). Small models keep baked weights (prepacking wins when memory is free).
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { GraphSpec, TensorValue, ValueSpec } from '../graph/proto';
import type { WeightFeeds } from '../runtime/ort';
import type { Tensor } from '../tensor/tensor';
import type { MappedSource } from './mappedWeights';
import type { ParamName } from './names';

/**
 * Moves every float initializer that IS the value `read` recorded for its name (the same bytes, not
 * an equal copy: a method may bake a modified tensor under a parameter's name) into the graph inputs;
 * initializers whose data is external (mapped from the file, mappedWeights.ts) stay.
 * Returns the new spec and the names that must be fed.
 */
export function externalizeWeights(spec: GraphSpec, read: ReadonlyMap<string, Tensor>): { spec: GraphSpec; fed: string[] } {
  const kept: TensorValue[] = [];
  const inputs: ValueSpec[] = [...spec.inputs];
  const fed: string[] = [];
  for (const init of spec.initializers) {
    if (init.external) {
      kept.push(init);
      continue;
    }
    const t = init.name === undefined ? undefined : read.get(init.name);
    const same = t !== undefined && init.dataType === 'float' && init.raw.buffer === t.data.buffer && init.raw.byteOffset === t.data.byteOffset && init.raw.byteLength === t.data.byteLength;
    if (!same) {
      kept.push(init);
      continue;
    }
    inputs.push({ name: init.name as string, dims: init.dims, dataType: 'float' });
    fed.push(init.name as string);
  }
  return { spec: { ...spec, initializers: kept, inputs }, fed };
}

const COLLECT_AFTER_BYTES = 256 * 2 ** 20;
let gc: (() => void) | undefined;

/** A full garbage collection now (V8's gc, exposed at run time: the CLI and worker start without --expose-gc). */
export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

/** A 16-bit model's parameters as the feeder needs them (model.ts wires HalfParams and the edits). */
export interface HalfSource {
  /** True when the current value is the file's 16-bit one (not an edit's float32 override, not a float32 tensor). */
  isHalf(name: ParamName): boolean;
  /** A float32 copy of the 16-bit value, into `into` when given (a dropped buffer of the same size). */
  widen(name: ParamName, into?: Float32Array): Tensor;
  /** The byte size of that copy. */
  floatBytes(name: ParamName): number;
}

/**
 * The values fed to lean sessions. `param` is the parameter's current value (an edit's override or the
 * file's). With `half` (16-bit models), the file's values are widened on demand and the widened copies
 * kept most-recently-used first up to `budgetBytes`, so at most about one block's float32 weights exist
 * beside the 16-bit model and a trace's repeated runs of one block widen it once.
 */
export class WeightFeeder {
  private readonly widened = new Map<ParamName, Tensor>();
  private heldBytes = 0;
  /** Widened tensors fed to a run in flight, by how many runs: never dropped or reused until released. */
  private readonly pinned = new Map<ParamName, number>();

  constructor(
    private readonly param: (name: ParamName) => Tensor,
    private readonly half?: HalfSource,
    private readonly budgetBytes = 2 ** 30,
    /** Float32 parameters ORT maps from the file itself (mappedWeights.ts): neither read nor fed. */
    readonly mapped?: MappedSource,
  ) {}

  /** A mapped parameter's stand-in (no values) for a graph to bake as an external initializer, else undefined. */
  placeholder(name: ParamName): Tensor | undefined {
    return this.mapped?.placeholder(name);
  }

  /**
   * Before widening a tensor not held, the least recently used are dropped so the new one fits (the
   * peak is the budget), and a dropped buffer of the same size is widened into: the blocks of a model
   * share their shapes, so feeding block after block allocates (and page-faults) nothing new.
   */
  value(name: ParamName): Tensor {
    if (!this.half?.isHalf(name)) return this.param(name);
    let t = this.widened.get(name);
    if (t) this.widened.delete(name);
    else {
      const bytes = this.half.floatBytes(name);
      const freed = this.trim(bytes);
      t = this.half.widen(name, freed.find((b) => b.byteLength === bytes));
      this.heldBytes += t.data.byteLength;
    }
    this.widened.set(name, t);
    return t;
  }

  /** Drops the least recently fed widened tensors (not those of a run in flight) until `incoming` more bytes fit the budget; returns their buffers. */
  trim(incoming = 0): Float32Array[] {
    const freed: Float32Array[] = [];
    for (const [name, t] of this.widened) {
      if (this.heldBytes + incoming <= this.budgetBytes) break;
      if (this.pinned.has(name)) continue;
      this.widened.delete(name);
      this.heldBytes -= t.data.byteLength;
      freed.push(t.data);
    }
    // Dropped float32 copies nobody reuses are garbage now; collect them before the next block widens
    // its own, or V8's lazy collection lets several blocks' worth pile up (measured: 16.7 GB peak for GPT-J).
    if (incoming === 0 && freed.reduce((n, b) => n + b.byteLength, 0) >= COLLECT_AFTER_BYTES) collectGarbage();
    return freed;
  }

  /** What a session whose graph takes `names` as inputs feeds on each run. */
  feeds(names: readonly string[]): WeightFeeds {
    return {
      acquire: () => {
        const values: Record<string, Tensor> = {};
        const held: ParamName[] = [];
        for (const n of names as ParamName[]) {
          values[n] = this.value(n);
          if (this.widened.has(n)) {
            this.pinned.set(n, (this.pinned.get(n) ?? 0) + 1);
            held.push(n);
          }
        }
        return {
          values,
          release: () => {
            for (const n of held) {
              const k = (this.pinned.get(n) ?? 1) - 1;
              if (k > 0) this.pinned.set(n, k);
              else this.pinned.delete(n);
            }
            this.trim();
          },
        };
      },
    };
  }
}
