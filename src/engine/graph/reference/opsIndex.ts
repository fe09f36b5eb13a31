/**
 * Indexing ops: Gather, GatherElements, ScatterND, ScatterElements. Indices may be negative (counted
 * from the end of their axis); out-of-range indices throw, where ORT would fail too. Scatter copies
 * its data input first: values are never mutated in place.
 */
import type { OpArgs, OpImpl } from './args';
import { fmtShape, isFloat, normAxis, numel, sameKind, stridesOf, valuesOf, walk } from './ndarray';

function fixIndex(args: OpArgs, i: number, dim: number): number {
  if (i < -dim || i >= dim) args.fail(`index ${i} out of range for dimension ${dim}`);
  return i < 0 ? i + dim : i;
}

/** Gather: out = data[:axis] ++ indices.shape ++ data[axis+1:], whole inner blocks copied per index. */
const gather: OpImpl = (args) => {
  const x = args.input(0);
  const idx = args.int(1);
  const axis = normAxis(args.attrInt('axis', 0), x.shape.length);
  const dim = x.shape[axis];
  const outer = numel(x.shape.slice(0, axis));
  const inner = numel(x.shape.slice(axis + 1));
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  const src = valuesOf(x);
  const out = new Float64Array(numel(shape));
  const ks = idx.ints.map((i) => fixIndex(args, i, dim));
  let p = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of ks) {
      const from = (o * dim + k) * inner;
      for (let j = 0; j < inner; j++) out[p++] = src[from + j];
    }
  }
  return [sameKind(x, shape, out)];
};

/**
 * The data offset each element of an indices tensor addresses along `axis` (GatherElements,
 * ScatterElements): its own coordinates on the other axes, the index value on `axis`.
 */
function elementOffsets(args: OpArgs, dataShape: readonly number[], idxShape: readonly number[], ints: readonly number[], axis: number): Int32Array {
  if (idxShape.length !== dataShape.length) args.fail(`indices ${fmtShape(idxShape)} and data ${fmtShape(dataShape)} differ in rank`);
  idxShape.forEach((d, i) => {
    if (i !== axis && d > dataShape[i]) args.fail(`indices ${fmtShape(idxShape)} exceed data ${fmtShape(dataShape)} off axis ${axis}`);
  });
  const strides = stridesOf(dataShape);
  const step = strides.map((s, i) => (i === axis ? 0 : s));
  const offs = new Int32Array(ints.length);
  walk(idxShape, step, 0, (o, base) => (offs[o] = base + fixIndex(args, ints[o], dataShape[axis]) * strides[axis]));
  return offs;
}

const gatherElements: OpImpl = (args) => {
  const x = args.input(0);
  const idx = args.int(1);
  const axis = normAxis(args.attrInt('axis', 0), x.shape.length);
  const offs = elementOffsets(args, x.shape, idx.shape, idx.ints, axis);
  const src = valuesOf(x);
  return [sameKind(x, idx.shape, Float64Array.from(offs, (o) => src[o]))];
};

const REDUCTIONS: Record<string, (old: number, upd: number) => number> = {
  none: (_old, upd) => upd,
  add: (old, upd) => old + upd,
  mul: (old, upd) => old * upd,
  max: (old, upd) => Math.max(old, upd),
  min: (old, upd) => Math.min(old, upd),
};

function reduction(args: OpArgs): (old: number, upd: number) => number {
  if (isFloat(args.input(0)) !== isFloat(args.input(2))) args.fail('data and updates differ in kind');
  const r = args.attrString('reduction', 'none');
  return REDUCTIONS[r] ?? args.fail(`unknown reduction '${r}'`);
}

/** ScatterElements: with reduction 'none', duplicate indices are unspecified in ONNX (here: last wins). */
const scatterElements: OpImpl = (args) => {
  const x = args.input(0);
  const idx = args.int(1);
  const upd = args.input(2);
  if (numel(upd.shape) !== idx.ints.length || upd.shape.some((d, i) => d !== idx.shape[i])) args.fail('updates and indices differ in shape');
  const axis = normAxis(args.attrInt('axis', 0), x.shape.length);
  const offs = elementOffsets(args, x.shape, idx.shape, idx.ints, axis);
  const red = reduction(args);
  const out = Float64Array.from(valuesOf(x));
  const u = valuesOf(upd);
  for (let i = 0; i < offs.length; i++) out[offs[i]] = red(out[offs[i]], u[i]);
  return [sameKind(x, x.shape, out)];
};

/** ScatterND: indices [..., k] address slices data[i0, ..., ik-1, :, ...]; updates = indices[:-1] ++ data[k:]. */
const scatterND: OpImpl = (args) => {
  const x = args.input(0);
  const idx = args.int(1);
  const upd = args.input(2);
  const k = idx.shape[idx.shape.length - 1];
  if (idx.shape.length === 0 || k > x.shape.length) args.fail(`bad indices shape ${fmtShape(idx.shape)}`);
  const want = [...idx.shape.slice(0, -1), ...x.shape.slice(k)];
  if (want.length !== upd.shape.length || want.some((d, i) => d !== upd.shape[i])) {
    args.fail(`updates ${fmtShape(upd.shape)} should be ${fmtShape(want)}`);
  }
  const red = reduction(args);
  const strides = stridesOf(x.shape);
  const sliceSize = numel(x.shape.slice(k));
  const count = numel(idx.shape.slice(0, -1));
  const out = Float64Array.from(valuesOf(x));
  const u = valuesOf(upd);
  for (let q = 0; q < count; q++) {
    let off = 0;
    for (let j = 0; j < k; j++) off += fixIndex(args, idx.ints[q * k + j], x.shape[j]) * strides[j];
    for (let s = 0; s < sliceSize; s++) out[off + s] = red(out[off + s], u[q * sliceSize + s]);
  }
  return [sameKind(x, x.shape, out)];
};

export const INDEX_OPS: Record<string, OpImpl> = {
  Gather: gather,
  GatherElements: gatherElements,
  ScatterElements: scatterElements,
  ScatterND: scatterND,
};
