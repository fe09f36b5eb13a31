/**
 * Elementwise ops with multidirectional (numpy) broadcasting: arithmetic, unary math (Erf and Relu
 * too, which gradient graphs emit), variadic Max/Min, Clip, comparisons, Where, Cast, Identity.
 * Operands of an arithmetic op share one kind, as ONNX's type constraints require (Pow's exponent
 * excepted); integer arithmetic stays integral.
 */
import type { OpArgs, OpImpl } from './args';
import { erf } from './erf';
import type { Kind, RefValue } from './ndarray';
import { broadcastIndex, broadcastShapes, floatValue, intValue, isFloat, kindOf, makeValue, numel, valuesOf } from './ndarray';

/** f applied over the broadcast of `vals`, giving a value of kind `kind`. */
function broadcastMap(vals: readonly RefValue[], kind: Kind, f: (x: readonly number[]) => number): RefValue {
  const shape = broadcastShapes(...vals.map((v) => v.shape));
  const idx = vals.map((v) => broadcastIndex(v.shape, shape));
  const src = vals.map(valuesOf);
  const n = numel(shape);
  const out = new Float64Array(n);
  const xs = new Array<number>(vals.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < vals.length; k++) {
      const m = idx[k];
      xs[k] = src[k][m ? m[i] : i];
    }
    out[i] = f(xs);
  }
  return makeValue(kind, shape, out);
}

/** Binary broadcast without the per-element array of broadcastMap (these run on every activation). */
function binaryMap(a: RefValue, b: RefValue, f: (x: number, y: number) => number, kind: Kind = kindOf(a)): RefValue {
  const shape = broadcastShapes(a.shape, b.shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const av = valuesOf(a);
  const bv = valuesOf(b);
  const out = new Float64Array(numel(shape));
  for (let i = 0; i < out.length; i++) out[i] = f(av[ia ? ia[i] : i], bv[ib ? ib[i] : i]);
  return makeValue(kind, shape, out);
}

function sameKinds(args: OpArgs, vals: readonly RefValue[]): void {
  if (vals.some((v) => isFloat(v) !== isFloat(vals[0]))) args.fail('operands mix float and integer tensors');
}

/** An arithmetic op; `intF` (default f) is its integer form. */
function arith(f: (x: number, y: number) => number, intF = f): OpImpl {
  return (args) => {
    const a = args.input(0);
    const b = args.input(1);
    sameKinds(args, [a, b]);
    return [binaryMap(a, b, isFloat(a) ? f : intF)];
  };
}

function unaryFloat(f: (x: number) => number): OpImpl {
  return (args) => {
    const x = args.float(0);
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]);
    return [floatValue(x.shape, out)];
  };
}

/** Integer division truncates toward zero, as ORT's int64 Div (C semantics) does. */
const intDiv = (x: number, y: number): number => {
  if (y === 0) throw new Error('Div: integer division by zero');
  return Math.trunc(x / y);
};

function variadic(f: (x: number, y: number) => number): OpImpl {
  return (args) => {
    const vals = args.inputs.filter((v): v is RefValue => v !== undefined);
    if (vals.length === 0) args.fail('needs at least one input');
    sameKinds(args, vals);
    return [vals.slice(1).reduce((acc, v) => binaryMap(acc, v, f), vals[0])];
  };
}

function compare(f: (x: number, y: number) => boolean): OpImpl {
  return (args) => {
    const a = args.input(0);
    const b = args.input(1);
    sameKinds(args, [a, b]);
    return [binaryMap(a, b, (x, y) => (f(x, y) ? 1 : 0), 'int')];
  };
}

// ONNX TensorProto.DataType codes Cast may target (proto.ts's DataType, by number).
const CAST_FLOAT = new Set([1, 11]); // float, double: both float64 here
const CAST_INT = new Set([6, 7]); // int32, int64
const CAST_BOOL = 9;

const cast: OpImpl = (args) => {
  const x = args.input(0);
  const to = args.attrInt('to', -1);
  const src = valuesOf(x);
  const out = new Float64Array(src.length);
  if (CAST_FLOAT.has(to)) {
    for (let i = 0; i < out.length; i++) out[i] = src[i];
    return [floatValue(x.shape, out)];
  }
  if (CAST_INT.has(to)) {
    // float → int truncates toward zero (C conversion, what ORT does).
    for (let i = 0; i < out.length; i++) out[i] = Math.trunc(src[i]);
    return [intValue(x.shape, out)];
  }
  if (to === CAST_BOOL) {
    for (let i = 0; i < out.length; i++) out[i] = src[i] !== 0 ? 1 : 0;
    return [intValue(x.shape, out)];
  }
  return args.fail(`unsupported target type ${to}`);
};

const clip: OpImpl = (args) => {
  const x = args.input(0);
  const lo = args.scalar(1) ?? -Infinity;
  const hi = args.scalar(2) ?? Infinity;
  const src = valuesOf(x);
  const out = new Float64Array(src.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(Math.max(src[i], lo), hi);
  return [makeValue(kindOf(x), x.shape, out)];
};

const where: OpImpl = (args) => {
  const cond = args.input(0);
  const x = args.input(1);
  const y = args.input(2);
  sameKinds(args, [x, y]);
  // ONNX's condition is bool (here an int 0/1); any nonzero counts as true.
  return [broadcastMap([cond, x, y], kindOf(x), ([c, a, b]) => (c !== 0 ? a : b))];
};

/** Pow's exponent may be of another type than its base; the result has the base's kind. */
const pow: OpImpl = (args) => [binaryMap(args.input(0), args.input(1), Math.pow)];

export const ELEMENTWISE_OPS: Record<string, OpImpl> = {
  Add: arith((x, y) => x + y),
  Sub: arith((x, y) => x - y),
  Mul: arith((x, y) => x * y),
  Div: arith((x, y) => x / y, intDiv),
  Pow: pow,
  Neg: (args) => {
    const x = args.input(0);
    return [makeValue(kindOf(x), x.shape, Float64Array.from(valuesOf(x), (v) => -v))];
  },
  Exp: unaryFloat(Math.exp),
  Log: unaryFloat(Math.log),
  Tanh: unaryFloat(Math.tanh),
  Sqrt: unaryFloat(Math.sqrt),
  Erf: unaryFloat(erf),
  Relu: unaryFloat((x) => Math.max(0, x)),
  Reciprocal: unaryFloat((x) => 1 / x),
  // The two branches keep exp's argument ≤ 0, so neither overflows.
  Sigmoid: unaryFloat((x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))),
  Identity: (args) => [args.input(0)],
  Max: variadic(Math.max),
  Min: variadic(Math.min),
  Clip: clip,
  Where: where,
  Equal: compare((x, y) => x === y),
  Less: compare((x, y) => x < y),
  Greater: compare((x, y) => x > y),
  Cast: cast,
};
