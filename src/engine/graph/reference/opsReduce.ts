/**
 * ReduceSum (axes input since opset 13), ReduceMean, ReduceMax, ReduceProd (axes input since opset 18),
 * and ArgMax.
 * Absent or empty axes reduce everything (noop_with_empty_axes = 0); keepdims defaults to 1.
 * An `axes` attribute (the pre-18 form) is honoured too when no axes input is given.
 */
import type { OpImpl } from './args';
import { broadcastIndex, intValue, normAxis, numel, sameKind, stridesOf, valuesOf } from './ndarray';

type Reducer = { init: number; step: (acc: number, x: number) => number; finish?: (acc: number, count: number) => number };

function reduceOp(r: Reducer, floatOnly = false): OpImpl {
  return (args) => {
    const x = floatOnly ? args.float(0) : args.input(0);
    const rank = x.shape.length;
    if (args.attrInt('noop_with_empty_axes', 0) !== 0) args.fail('noop_with_empty_axes is not supported');
    const given = args.intList(1) ?? args.attrInts('axes') ?? [];
    const axes = new Set((given.length ? given : x.shape.map((_, i) => i)).map((a) => normAxis(a, rank)));
    const kept = x.shape.map((d, i) => (axes.has(i) ? 1 : d));
    // Each input element lands on the output element broadcasting `kept` back to x.shape would read.
    const target = broadcastIndex(kept, x.shape);
    const n = numel(kept);
    const acc = new Float64Array(n).fill(r.init);
    const src = valuesOf(x);
    for (let i = 0; i < src.length; i++) {
      const o = target ? target[i] : i;
      acc[o] = r.step(acc[o], src[i]);
    }
    const count = numel(x.shape) / Math.max(n, 1); // elements folded into each output
    if (r.finish) for (let o = 0; o < n; o++) acc[o] = r.finish(acc[o], count);
    const keepdims = args.attrInt('keepdims', 1) !== 0;
    return [sameKind(x, keepdims ? kept : x.shape.filter((_, i) => !axes.has(i)), acc)];
  };
}

/** ArgMax (opset 13): first index of the maximum along `axis` (last with select_last_index = 1), as int64. */
const argMax: OpImpl = (args) => {
  const x = args.input(0);
  const rank = x.shape.length;
  const axis = normAxis(args.attrInt('axis', 0), rank);
  const last = args.attrInt('select_last_index', 0) !== 0;
  const dim = x.shape[axis];
  const inner = stridesOf(x.shape)[axis];
  const outer = numel(x.shape.slice(0, axis));
  const src = valuesOf(x);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      let best = 0;
      for (let j = 1; j < dim; j++) {
        const v = src[(o * dim + j) * inner + r];
        const b = src[(o * dim + best) * inner + r];
        if (v > b || (last && v === b)) best = j;
      }
      out[o * inner + r] = best;
    }
  }
  const keepdims = args.attrInt('keepdims', 1) !== 0;
  return [intValue(keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis), out)];
};

export const REDUCE_OPS: Record<string, OpImpl> = {
  ReduceSum: reduceOp({ init: 0, step: (a, x) => a + x }),
  ReduceMean: reduceOp({ init: 0, step: (a, x) => a + x, finish: (a, c) => a / c }, true),
  ReduceMax: reduceOp({ init: -Infinity, step: (a, x) => (x > a || Number.isNaN(x) ? x : a) }),
  ReduceProd: reduceOp({ init: 1, step: (a, x) => a * x }),
  ArgMax: argMax,
};
