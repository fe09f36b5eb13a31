/**
 * Half-precision checkpoints kept half-precision in memory (issue 17, "lean weights"): a 6B-parameter
 * bf16 model is 12 GB as stored but 24 GB widened to float32, more than a 24 GB machine holds. This
 * store keeps each F16/BF16 tensor's 16-bit values (read once from the file) and widens a fresh
 * float32 copy on every `read`, which is exact: every half and bfloat16 value is a float32 value, so
 * a forward pass computes in float32 on exactly the stored weights (as HF's `model.float()` would).
 * The caller (model.ts) keeps only a bounded number of widened tensors alive at a time.
 */
import type { Tensor } from '../tensor/tensor';
import type { HalfTensor, WeightStore } from './safetensors';
import { HALF_DTYPES, widenHalf } from './safetensors';

export class HalfMemoryStore implements WeightStore {
  private readonly half = new Map<string, HalfTensor>();

  constructor(private readonly inner: WeightStore) {}

  get source(): string {
    return this.inner.source;
  }
  get totalBytes(): number {
    return this.inner.totalBytes;
  }
  get metadata(): Readonly<Record<string, string>> {
    return this.inner.metadata;
  }
  names = (): string[] => this.inner.names();
  has = (name: string): boolean => this.inner.has(name);
  shape = (name: string): readonly number[] => this.inner.shape(name);
  dtype = (name: string): string => this.inner.dtype(name);
  close = (): void => this.inner.close();

  /** Bytes of 16-bit tensors held so far. */
  get heldBytes(): number {
    let n = 0;
    for (const t of this.half.values()) n += t.data.byteLength;
    return n;
  }

  /** Float32 tensors pass through (read from the file each time); F16/BF16 are widened from memory. */
  read(name: string): Tensor {
    if (!HALF_DTYPES.includes(this.inner.dtype(name)) || this.inner.readHalf === undefined) return this.inner.read(name);
    let t = this.half.get(name);
    if (!t) {
      t = this.inner.readHalf(name);
      this.half.set(name, t);
    }
    return { shape: [...t.shape], data: widenHalf(t.data, t.dtype) };
  }
}

/** True when the store holds any F16/BF16 tensor, i.e. keeping 16-bit copies halves the memory. */
export function holdsHalf(store: WeightStore): boolean {
  return store.names().some((n) => HALF_DTYPES.includes(store.dtype(n)));
}
