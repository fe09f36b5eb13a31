/**
 * Shape and layout ops: Reshape, Transpose, Unsqueeze, Squeeze, Concat, Slice, Shape, ConstantOfShape,
 * Expand, Tile, Range. They work on either kind. Values are immutable, so ops that only relabel the shape
 * (Reshape, Unsqueeze, Squeeze) share their input's buffer.
 */
import type { OpImpl } from './args';
import type { RefValue } from './ndarray';
import { broadcastIndex, broadcastShapes, decodeTensor, floatValue, fmtShape, intValue, isFloat, normAxis, numel, sameKind, stridesOf, valuesOf, walk } from './ndarray';

/** The same values under another shape of equal size. */
function relabel(x: RefValue, shape: readonly number[]): RefValue {
  if (numel(shape) !== numel(x.shape)) throw new Error(`cannot view ${fmtShape(x.shape)} as ${fmtShape(shape)}`);
  return isFloat(x) ? { shape: [...shape], data: x.data } : { shape: [...shape], ints: x.ints };
}

/** Reshape (allowzero = 0): a 0 copies the input's dimension at that index, one -1 is inferred. */
const reshape: OpImpl = (args) => {
  const x = args.input(0);
  const spec = args.intList(1) ?? args.fail('missing shape');
  if (args.attrInt('allowzero', 0) !== 0) args.fail('allowzero is not supported');
  const shape = spec.map((d, i) => (d === 0 ? (x.shape[i] ?? args.fail(`shape[${i}] = 0 copies a missing dimension`)) : d));
  const infer = shape.indexOf(-1);
  if (infer >= 0) {
    if (shape.lastIndexOf(-1) !== infer) args.fail('more than one -1 in shape');
    const known = numel(shape.filter((_, i) => i !== infer));
    if (known === 0 || numel(x.shape) % known !== 0) args.fail(`cannot infer -1 in ${fmtShape(spec)} for ${fmtShape(x.shape)}`);
    shape[infer] = numel(x.shape) / known;
  }
  return [relabel(x, shape)];
};

/** Copies the elements a walk with per-output-axis input steps visits. */
function gatherWalk(x: RefValue, out: readonly number[], step: readonly number[], base: number): RefValue {
  const src = valuesOf(x);
  const res = new Float64Array(numel(out));
  walk(out, step, base, (o, s) => (res[o] = src[s]));
  return sameKind(x, out, res);
}

const transpose: OpImpl = (args) => {
  const x = args.input(0);
  const rank = x.shape.length;
  const perm = args.attrInts('perm') ?? x.shape.map((_, i) => rank - 1 - i);
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) args.fail(`bad perm [${perm}] for rank ${rank}`);
  const strides = stridesOf(x.shape);
  return [gatherWalk(x, perm.map((p) => x.shape[p]), perm.map((p) => strides[p]), 0)];
};

const unsqueeze: OpImpl = (args) => {
  const x = args.input(0);
  const axesIn = args.intList(1) ?? args.fail('missing axes');
  const rank = x.shape.length + axesIn.length;
  const axes = new Set(axesIn.map((a) => normAxis(a, rank)));
  if (axes.size !== axesIn.length) args.fail('repeated axes');
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(axes.has(i) ? 1 : x.shape[k++]);
  return [relabel(x, shape)];
};

const squeeze: OpImpl = (args) => {
  const x = args.input(0);
  const given = args.intList(1);
  const axes = new Set(given ? given.map((a) => normAxis(a, x.shape.length)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
  for (const a of axes) if (x.shape[a] !== 1) args.fail(`axis ${a} has size ${x.shape[a]}, not 1`);
  return [relabel(x, x.shape.filter((_, i) => !axes.has(i)))];
};

const concat: OpImpl = (args) => {
  const vals = args.inputs.filter((v): v is RefValue => v !== undefined);
  if (vals.length === 0) args.fail('needs at least one input');
  const first = vals[0];
  const rank = first.shape.length;
  const axisAttr = args.attrInt('axis', Number.NaN);
  if (Number.isNaN(axisAttr)) args.fail('missing axis attribute');
  const axis = normAxis(axisAttr, rank);
  for (const v of vals) {
    if (isFloat(v) !== isFloat(first)) args.fail('inputs mix float and integer tensors');
    if (v.shape.length !== rank || v.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
      args.fail(`shapes ${vals.map((u) => fmtShape(u.shape)).join(', ')} differ off axis ${axis}`);
    }
  }
  const shape = [...first.shape];
  shape[axis] = vals.reduce((s, v) => s + v.shape[axis], 0);
  const outer = numel(first.shape.slice(0, axis));
  const inner = numel(first.shape.slice(axis + 1));
  const out = new Float64Array(numel(shape));
  let p = 0;
  for (let o = 0; o < outer; o++) {
    for (const v of vals) {
      const chunk = v.shape[axis] * inner;
      const src = valuesOf(v);
      for (let j = 0; j < chunk; j++) out[p++] = src[o * chunk + j];
    }
  }
  return [sameKind(first, shape, out)];
};

/**
 * Slice (opset 13): negative starts/ends count from the end; then, for a positive step, start and end
 * clamp to [0, dim]; for a negative step, start clamps to [0, dim-1] and end to [-1, dim-1].
 */
const slice: OpImpl = (args) => {
  const x = args.input(0);
  const rank = x.shape.length;
  const starts = args.intList(1) ?? args.fail('missing starts');
  const ends = args.intList(2) ?? args.fail('missing ends');
  const axes = (args.intList(3) ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  const steps = args.intList(4) ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) args.fail('starts, ends, axes, steps differ in length');
  if (new Set(axes).size !== axes.length) args.fail('repeated axes');
  const strides = stridesOf(x.shape);
  const out = [...x.shape];
  const step = [...strides];
  let base = 0;
  axes.forEach((ax, i) => {
    const dim = x.shape[ax];
    const st = steps[i];
    if (st === 0) args.fail('step 0');
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
    const wrap = (v: number): number => (v < 0 ? v + dim : v);
    const s = st > 0 ? clamp(wrap(starts[i]), 0, dim) : clamp(wrap(starts[i]), 0, dim - 1);
    const e = st > 0 ? clamp(wrap(ends[i]), 0, dim) : clamp(wrap(ends[i]), -1, dim - 1);
    out[ax] = Math.max(0, Math.ceil((e - s) / st));
    step[ax] = strides[ax] * st;
    if (out[ax] > 0) base += s * strides[ax];
  });
  return [gatherWalk(x, out, step, base)];
};

/** Shape (opset 15): dims [start, end) of the input's shape, negative bounds counting from the end. */
const shapeOp: OpImpl = (args) => {
  const dims = args.input(0).shape;
  const r = dims.length;
  const bound = (v: number): number => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const part = dims.slice(bound(args.attrInt('start', 0)), bound(args.attrInt('end', r)));
  return [intValue([part.length], part)];
};

/** ConstantOfShape: `value` is a one-element tensor giving the fill and the kind (default float 0). */
const constantOfShape: OpImpl = (args) => {
  const shape = args.intList(0) ?? args.fail('missing shape');
  const t = args.attrTensor('value');
  const v: RefValue = t ? decodeTensor(t) : floatValue([1], new Float64Array(1));
  const fill = valuesOf(v);
  if (fill.length !== 1) args.fail('value must hold one element');
  return [sameKind(v, shape, new Float64Array(numel(shape)).fill(fill[0]))];
};

/** Expand: bidirectional broadcast of the input with the given shape. */
const expand: OpImpl = (args) => {
  const x = args.input(0);
  const shape = broadcastShapes(x.shape, args.intList(1) ?? args.fail('missing shape'));
  const idx = broadcastIndex(x.shape, shape);
  const src = valuesOf(x);
  const out = new Float64Array(numel(shape));
  for (let i = 0; i < out.length; i++) out[i] = src[idx ? idx[i] : i];
  return [sameKind(x, shape, out)];
};

/** Tile: the input repeated repeats[i] times along axis i (the engine tiles cached keys/values over a trace batch). */
const tile: OpImpl = (args) => {
  const x = args.input(0);
  const repeats = args.intList(1) ?? args.fail('missing repeats');
  if (repeats.length !== x.shape.length) args.fail(`repeats ${fmtShape(repeats)} do not match rank ${x.shape.length}`);
  const shape = x.shape.map((d, i) => d * repeats[i]);
  const inStrides = stridesOf(x.shape);
  const outStrides = stridesOf(shape);
  const src = valuesOf(x);
  const out = new Float64Array(numel(shape));
  for (let o = 0; o < out.length; o++) {
    let s = 0;
    for (let a = 0; a < shape.length; a++) s += (Math.floor(o / outStrides[a]) % shape[a] % x.shape[a]) * inStrides[a];
    out[o] = src[s];
  }
  return [sameKind(x, shape, out)];
};

/** Range: start, start + delta, … while short of limit; max(ceil((limit - start)/delta), 0) elements. */
const range: OpImpl = (args) => {
  const start = args.scalar(0) ?? args.fail('missing start');
  const limit = args.scalar(1) ?? args.fail('missing limit');
  const delta = args.scalar(2) ?? args.fail('missing delta');
  if (delta === 0) args.fail('delta 0');
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  return [sameKind(args.input(0), [n], Float64Array.from({ length: n }, (_, i) => start + i * delta))];
};

export const SHAPE_OPS: Record<string, OpImpl> = {
  Reshape: reshape,
  Tile: tile,
  Transpose: transpose,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Concat: concat,
  Slice: slice,
  Shape: shapeOp,
  ConstantOfShape: constantOfShape,
  Expand: expand,
  Range: range,
};
