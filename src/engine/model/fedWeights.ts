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
import type { ParamName } from './names';

/**
 * Moves every float initializer that IS the value `read` recorded for its name (the same bytes, not
 * an equal copy: a method may bake a modified tensor under a parameter's name) into the graph inputs.
 * Returns the new spec and the names that must be fed.
 */
export function externalizeWeights(spec: GraphSpec, read: ReadonlyMap<string, Tensor>): { spec: GraphSpec; fed: string[] } {
  const kept: TensorValue[] = [];
  const inputs: ValueSpec[] = [...spec.inputs];
  const fed: string[] = [];
  for (const init of spec.initializers) {
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
function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

/**
 * The values fed to lean sessions. `value` is the parameter's current value (an edit's override or the
 * file's). With `drop` (16-bit models, whose float32 copies are widened on demand), widened tensors are
 * kept most-recently-used first up to `budgetBytes` and dropped beyond it, so at most about one block's
 * float32 weights exist beside the 16-bit model.
 */
export class WeightFeeder {
  private readonly held = new Map<ParamName, number>();
  private heldBytes = 0;

  /** `sizeOf`: a parameter's float32 bytes from its shape, so room is made before it is widened. */
  constructor(
    private readonly param: (name: ParamName) => Tensor,
    private readonly drop?: (name: ParamName) => void,
    private readonly budgetBytes = 2 ** 30,
    private readonly sizeOf?: (name: ParamName) => number,
  ) {}

  /**
   * The value to feed. Before widening a tensor not held yet, the least recently used ones are dropped
   * so that the held ones plus the new one fit the budget: the peak is the budget, not budget + tensor.
   */
  value(name: ParamName): Tensor {
    if (this.drop && !this.held.has(name) && this.sizeOf) this.trim(this.sizeOf(name));
    const t = this.param(name);
    if (this.drop) {
      const prev = this.held.get(name);
      if (prev !== undefined) this.held.delete(name);
      else this.heldBytes += t.data.byteLength;
      this.held.set(name, t.data.byteLength);
    }
    return t;
  }

  /** Drops the least recently fed widened tensors until `incoming` more bytes fit the budget (none for float32 models). */
  trim(incoming = 0): void {
    if (!this.drop) return;
    let freed = 0;
    for (const [name, bytes] of this.held) {
      if (this.heldBytes + incoming <= this.budgetBytes) break;
      this.held.delete(name);
      this.heldBytes -= bytes;
      freed += bytes;
      this.drop(name);
    }
    // The dropped float32 copies are garbage now; collect them before the next block widens its own,
    // or V8's lazy collection lets several blocks' worth pile up (measured: 16.7 GB peak for GPT-J).
    if (freed >= COLLECT_AFTER_BYTES) collectGarbage();
  }

  /** What a session whose graph takes `names` as inputs feeds on each run. */
  feeds(names: readonly string[]): WeightFeeds {
    return {
      values: () => Object.fromEntries(names.map((n) => [n, this.value(n as ParamName)])),
      done: () => this.trim(),
    };
  }
}
