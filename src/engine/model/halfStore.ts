/**
 * Half-precision checkpoints kept half-precision in memory (issue 17, "lean weights"): a 6B-parameter
 * bf16 model is 12 GB as stored but 24 GB widened to float32, more than a 24 GB machine holds. Each
 * F16/BF16 parameter is kept as 16-bit values already in the canonical layout (transposed / split once,
 * as the adapter's transform says), so widening it for a run is one linear pass. Widening is exact:
 * every half and bfloat16 value is a float32 value, so a forward pass computes in float32 on exactly
 * the stored weights (as HF's `model.float()` would).
 */
import { LocusError } from '../errors';
import type { ArchAdapter, ParamSpec, Transform } from './arch/types';
import type { ModelConfig } from './config';
import type { ParamName } from './names';
import type { HalfTensor, WeightStore } from './safetensors';
import { HALF_DTYPES } from './safetensors';
import { collectGarbage } from './fedWeights';

/** True when the store holds any F16/BF16 tensor, i.e. keeping 16-bit copies halves the memory. */
export function holdsHalf(store: WeightStore): boolean {
  return store.names().some((n) => HALF_DTYPES.includes(store.dtype(n)));
}

const TILE = 64;
const RAW_GARBAGE_BYTES = 64 * 2 ** 20;

/** [rows, cols] → [cols, rows] in 64×64 tiles (a row-by-row transpose of a 16384-wide matrix misses the cache on every element). */
function transpose16(src: Uint16Array, rows: number, cols: number): Uint16Array {
  const out = new Uint16Array(rows * cols);
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = src[r * cols + c];
    }
  }
  return out;
}

/** The adapter's transform (arch/types.ts applyTransform) on 16-bit values: same layout rules, no widening. */
function transform16(t: HalfTensor, tr: Transform): HalfTensor {
  const { dtype } = t;
  switch (tr.kind) {
    case 'copy':
      return t;
    case 'transpose': {
      const [rows, cols] = t.shape as [number, number];
      return { shape: [cols, rows], dtype, data: transpose16(t.data, rows, cols) };
    }
    case 'range':
      return { shape: [tr.count], dtype, data: t.data.slice(tr.start, tr.start + tr.count) };
    case 'perHead': {
      const rowLen = t.shape.length === 2 ? t.shape[1] : 1;
      const out = new Uint16Array(tr.heads * tr.size * rowLen);
      for (let h = 0; h < tr.heads; h++) {
        const src = (h * tr.parts + tr.part) * tr.size * rowLen;
        out.set(t.data.subarray(src, src + tr.size * rowLen), h * tr.size * rowLen);
      }
      const rows = tr.heads * tr.size;
      return t.shape.length === 2 ? { shape: [rowLen, rows], dtype, data: transpose16(out, rows, rowLen) } : { shape: [rows], dtype, data: out };
    }
    case 'columns': {
      const [rows, cols] = t.shape as [number, number];
      const out = new Uint16Array(rows * tr.count);
      for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + tr.start, r * cols + tr.start + tr.count), r * tr.count);
      return { shape: [rows, tr.count], dtype, data: out };
    }
  }
}

/** How many of `data`'s 16-bit values are NaN or ±Inf (the exponent bits all set). */
function countNonFinite16(data: Uint16Array, dtype: 'F16' | 'BF16'): number {
  const mask = dtype === 'BF16' ? 0x7f80 : 0x7c00;
  let n = 0;
  for (let i = 0; i < data.length; i++) if ((data[i] & mask) === mask) n++;
  return n;
}

/**
 * Canonical parameters of a 16-bit checkpoint as 16-bit values, read from the file on first use and
 * kept. A fused HF tensor (GPT-2's c_attn, NeoX's query_key_value) is read once for all its parts.
 */
export class HalfParams {
  private readonly cache = new Map<ParamName, HalfTensor>();
  private readonly specs = new Map<ParamName, ParamSpec>();
  private readonly bySource = new Map<string, ParamSpec[]>();
  private readonly resolved: Map<string, string>;

  /** `nonFinite(hfName, count, total)` reports NaN/Inf in a tensor when it is first read. */
  constructor(
    adapter: ArchAdapter,
    cfg: ModelConfig,
    private readonly store: WeightStore,
    private readonly nonFinite: (name: string, count: number, total: number) => void,
  ) {
    this.resolved = adapter.validate(cfg, store).resolved;
    for (const s of adapter.params(cfg)) {
      this.specs.set(s.name, s);
      this.bySource.set(s.hf, [...(this.bySource.get(s.hf) ?? []), s]);
    }
  }

  /** Whether `name` is stored as F16/BF16 (others are read as float32 the usual way). */
  isHalf(name: ParamName): boolean {
    const s = this.specs.get(name);
    return s !== undefined && HALF_DTYPES.includes(this.store.dtype(this.resolved.get(s.hf) as string));
  }

  get(name: ParamName): HalfTensor {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const spec = this.specs.get(name);
    if (!spec || this.store.readHalf === undefined) throw new LocusError('bad-input', `${name} is not a 16-bit parameter of this model`);
    const stored = this.resolved.get(spec.hf) as string;
    const raw = this.store.readHalf(stored);
    const bad = countNonFinite16(raw.data, raw.dtype);
    if (bad > 0) this.nonFinite(stored, bad, raw.data.length);
    const parts = this.bySource.get(spec.hf) ?? [];
    for (const s of parts) if (!this.cache.has(s.name)) this.cache.set(s.name, transform16(raw, s.transform));
    // A big tensor read as stored and then transposed or split is garbage now: collect it before the
    // next read, so loading 12 GB of 16-bit weights never holds a pile of stale reads beside them.
    if (raw.data.byteLength >= RAW_GARBAGE_BYTES && parts.some((s) => s.transform.kind !== 'copy')) collectGarbage();
    return this.cache.get(name) as HalfTensor;
  }

  /** Bytes of 16-bit parameters held so far. */
  get heldBytes(): number {
    let n = 0;
    for (const t of this.cache.values()) n += t.data.byteLength;
    return n;
  }
}
