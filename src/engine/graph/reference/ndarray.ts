/**
 * Values of the float64 reference evaluator, and the index arithmetic every op shares (broadcasting,
 * strides, axis normalization, initializer decoding). Row-major throughout.
 *
 * Float tensors (ONNX float and double) are Float64Array; integer tensors (int64, int32, bool) are plain
 * JS numbers, exact up to 2^53. The only int64 values past that range our graphs could hold are
 * "to the end" sentinels such as INT64_MAX in Slice, which round but still clamp the same way.
 */
import type { TensorValue } from '../proto';

/** A float tensor. Invariant: data.length === numel(shape). */
export interface FloatValue {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** An integer or bool (0/1) tensor. Invariant: ints.length === numel(shape), every entry an integer. */
export interface IntValue {
  readonly shape: readonly number[];
  readonly ints: readonly number[];
}

export type RefValue = FloatValue | IntValue;

export const isFloat = (v: RefValue): v is FloatValue => 'data' in v;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides (in elements). */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** The values of either kind, for ops that treat floats and ints alike. */
export const valuesOf = (v: RefValue): ArrayLike<number> => (isFloat(v) ? v.data : v.ints);

export function floatValue(shape: readonly number[], data: Float64Array): FloatValue {
  if (data.length !== numel(shape)) throw new Error(`reference: ${data.length} values for shape ${fmtShape(shape)}`);
  return { shape: [...shape], data };
}

export function intValue(shape: readonly number[], ints: ArrayLike<number>): IntValue {
  if (ints.length !== numel(shape)) throw new Error(`reference: ${ints.length} values for shape ${fmtShape(shape)}`);
  return { shape: [...shape], ints: Array.from(ints) };
}

export type Kind = 'float' | 'int';
export const kindOf = (v: RefValue): Kind => (isFloat(v) ? 'float' : 'int');

/** A value of kind `kind` from float64 results (ops compute in float64 and convert once at the end). */
export function makeValue(kind: Kind, shape: readonly number[], out: Float64Array): RefValue {
  return kind === 'float' ? floatValue(shape, out) : intValue(shape, out);
}

/** A value of the same kind as `like`. */
export const sameKind = (like: RefValue, shape: readonly number[], out: Float64Array): RefValue => makeValue(kindOf(like), shape, out);

/** Axis in [-rank, rank) → [0, rank). */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new Error(`${what} ${axis} out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** Multidirectional (numpy) broadcast of any number of shapes. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i];
      if (d === out[off + i] || d === 1) continue;
      if (out[off + i] !== 1) throw new Error(`cannot broadcast shapes ${shapes.map(fmtShape).join(' and ')}`);
      out[off + i] = d;
    }
  }
  return out;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * For each flat index of `out`, the flat index of the element of a `shape` tensor that broadcasting
 * (unidirectional: `shape` → `out`) reads there; undefined when the shapes are equal (identity map).
 * One odometer pass, O(numel(out)).
 */
export function broadcastIndex(shape: readonly number[], out: readonly number[]): Int32Array | undefined {
  if (sameShape(shape, out)) return undefined;
  const rank = out.length;
  const off = rank - shape.length;
  if (off < 0) throw new Error(`cannot broadcast ${fmtShape(shape)} to ${fmtShape(out)}`);
  const step = new Array<number>(rank).fill(0); // input stride per output axis; 0 where broadcast
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && shape[i] !== out[i + off]) throw new Error(`cannot broadcast ${fmtShape(shape)} to ${fmtShape(out)}`);
    if (shape[i] !== 1) step[i + off] = s;
    s *= shape[i];
  }
  const n = numel(out);
  const idx = new Int32Array(n);
  const ctr = new Array<number>(rank).fill(0);
  let p = 0;
  for (let i = 0; i < n; i++) {
    idx[i] = p;
    for (let ax = rank - 1; ax >= 0; ax--) {
      ctr[ax]++;
      p += step[ax];
      if (ctr[ax] < out[ax]) break;
      p -= step[ax] * out[ax];
      ctr[ax] = 0;
    }
  }
  return idx;
}

/**
 * Calls `visit(outFlat, srcFlat)` for every element of a tensor of shape `out` whose source offset is
 * Σ counter[ax]·step[ax] + base. Transpose, Slice and the Gather/Scatter families are all this walk
 * with different steps.
 */
export function walk(out: readonly number[], step: readonly number[], base: number, visit: (o: number, src: number) => void): void {
  const rank = out.length;
  const n = numel(out);
  const ctr = new Array<number>(rank).fill(0);
  let p = base;
  for (let i = 0; i < n; i++) {
    visit(i, p);
    for (let ax = rank - 1; ax >= 0; ax--) {
      ctr[ax]++;
      p += step[ax];
      if (ctr[ax] < out[ax]) break;
      p -= step[ax] * out[ax];
      ctr[ax] = 0;
    }
  }
}

/** Decodes an initializer or attribute tensor (little-endian raw bytes) into a reference value. */
export function decodeTensor(t: TensorValue): RefValue {
  const n = numel(t.dims);
  const view = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  const width = { float: 4, double: 8, int64: 8, int32: 4, bool: 1 }[t.dataType];
  if (t.raw.byteLength !== n * width) {
    throw new Error(`tensor ${t.name ?? '(attribute)'}: ${t.raw.byteLength} bytes for ${t.dataType} ${fmtShape(t.dims)}`);
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    switch (t.dataType) {
      case 'float': out[i] = view.getFloat32(i * 4, true); break;
      case 'double': out[i] = view.getFloat64(i * 8, true); break;
      case 'int64': out[i] = Number(view.getBigInt64(i * 8, true)); break;
      case 'int32': out[i] = view.getInt32(i * 4, true); break;
      case 'bool': out[i] = view.getUint8(i) ? 1 : 0; break;
    }
  }
  return t.dataType === 'float' || t.dataType === 'double' ? floatValue(t.dims, out) : intValue(t.dims, out);
}
