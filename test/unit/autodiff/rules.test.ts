import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DIFFERENTIABLE_OPS } from '../../../src/engine/ops/registry';
import { checkGradients, values } from '../../helpers/gradCheck';

/**
 * Every gradient rule against central finite differences (float64 reference evaluator), on several
 * shapes including broadcasting. Tolerance: 1e-3 × max(1, max|numeric|) (ORT computes in float32).
 */
const t = (shape: number[], seed: number, lo = -1, hi = 1) => ({ shape, data: values(shape.reduce((a, b) => a * b, 1), seed, lo, hi) });
const ids = (shape: number[], xs: number[]) => ({ shape, ids: BigInt64Array.from(xs, BigInt), ints: xs });

const covered = new Set<string>();
function rule(op: string, name: string, c: Parameters<typeof checkGradients>[0]): void {
  covered.add(op);
  test(`${op}: ${name}`, () => checkGradients(c));
}

describe('gradient rules vs finite differences', () => {
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    const shapes: Array<[number[], number[]]> = [[[2, 3, 4], [4]], [[2, 1, 4], [3, 1]], [[5], [2, 5]], [[3, 4], [3, 4]]];
    for (const [sa, sb] of shapes) {
      rule(op, `[${sa}] ∘ [${sb}]`, { wrt: { a: t(sa, 1), b: op === 'Div' ? t(sb, 2, 0.5, 2) : t(sb, 2) }, build: (g, i) => g.node(op, [i.a, i.b]) });
    }
  }
  for (const [op, lo, hi] of [['Neg', -1, 1], ['Exp', -1, 1], ['Log', 0.3, 2], ['Tanh', -2, 2], ['Sqrt', 0.3, 2], ['Reciprocal', 0.5, 2], ['Sigmoid', -3, 3], ['Identity', -1, 1]] as const) {
    rule(op, '[3, 5]', { wrt: { x: t([3, 5], 3, lo, hi) }, build: (g, i) => g.node(op, [i.x]) });
  }
  rule('Pow', 'x^2.5', { wrt: { x: t([2, 4], 4, 0.5, 2) }, build: (g, i) => g.node('Pow', [i.x, g.float([2.5])]) });
  rule('Where', 'broadcast condition', {
    wrt: { a: t([2, 3], 5), b: t([3], 6) },
    build: (g, i) => g.node('Where', [g.node('Greater', [i.a, g.float([0])]), i.a, i.b]),
  });

  rule('MatMul', '[2,3,4] @ weight [4,5]', { wrt: { a: t([2, 3, 4], 7), w: t([4, 5], 8) }, build: (g, i) => g.node('MatMul', [i.a, i.w]) });
  rule('MatMul', '[4,5] @ [5,3]', { wrt: { a: t([4, 5], 9), b: t([5, 3], 10) }, build: (g, i) => g.node('MatMul', [i.a, i.b]) });
  rule('MatMul', 'batched [2,3,4,5] @ [2,3,5,2]', { wrt: { a: t([2, 3, 4, 5], 11), b: t([2, 3, 5, 2], 12) }, build: (g, i) => g.node('MatMul', [i.a, i.b]) });
  rule('MatMul', 'broadcast batch [2,1,3,4] @ [1,3,4,2]', { wrt: { a: t([2, 1, 3, 4], 13), b: t([1, 3, 4, 2], 14) }, build: (g, i) => g.node('MatMul', [i.a, i.b]) });
  for (const [transA, transB] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
    rule('Gemm', `transA ${transA} transB ${transB}, bias [N]`, {
      wrt: { a: t(transA ? [4, 3] : [3, 4], 15), b: t(transB ? [5, 4] : [4, 5], 16), c: t([5], 17) },
      build: (g, i) => g.node('Gemm', [i.a, i.b, i.c], { transA, transB }),
    });
  }
  rule('Gemm', 'bias [M, N]', { wrt: { a: t([3, 4], 18), b: t([4, 5], 19), c: t([3, 5], 20) }, build: (g, i) => g.node('Gemm', [i.a, i.b, i.c]) });

  rule('LayerNormalization', '[2,3,6] with scale and shift', {
    wrt: { x: t([2, 3, 6], 21, -2, 2), w: t([6], 22, 0.5, 1.5), b: t([6], 23) },
    build: (g, i) => g.node('LayerNormalization', [i.x, i.w, i.b], { axis: -1, epsilon: { float: 1e-5 } }),
  });
  rule('Gelu', 'tanh approximation', { wrt: { x: t([4, 5], 24, -3, 3) }, build: (g, i) => g.node('Gelu', [i.x], { approximate: 'tanh' }) });
  rule('Gelu', 'exact (erf)', { wrt: { x: t([4, 5], 25, -3, 3) }, build: (g, i) => g.node('Gelu', [i.x]) });
  rule('Softmax', 'last axis', { wrt: { x: t([2, 3, 5], 26, -2, 2) }, build: (g, i) => g.node('Softmax', [i.x], { axis: -1 }) });
  rule('Softmax', 'axis 1', { wrt: { x: t([2, 3, 5], 27, -2, 2) }, build: (g, i) => g.node('Softmax', [i.x], { axis: 1 }) });
  rule('LogSoftmax', 'last axis', { wrt: { x: t([3, 7], 28, -3, 3) }, build: (g, i) => g.node('LogSoftmax', [i.x], { axis: -1 }) });

  rule('Reshape', '[2,3,4] → [6,4] via 0/-1', { wrt: { x: t([2, 3, 4], 29) }, build: (g, i) => g.node('Reshape', [i.x, g.int64([-1, 4])]) });
  rule('Transpose', 'perm [2,0,1]', { wrt: { x: t([2, 3, 4], 30) }, build: (g, i) => g.node('Transpose', [i.x], { perm: [2, 0, 1] }) });
  rule('Concat', 'axis 1, three inputs of different widths', {
    wrt: { a: t([2, 1, 3], 39), b: t([2, 4, 3], 40), c: t([2, 2, 3], 41) },
    build: (g, i) => g.node('Concat', [i.a, i.b, i.c], { axis: 1 }),
  });
  rule('Concat', 'axis -1', { wrt: { a: t([3, 2], 42), b: t([3, 5], 43) }, build: (g, i) => g.node('Concat', [i.a, i.b], { axis: -1 }) });
  rule('Unsqueeze', 'axis 1', { wrt: { x: t([3, 4], 31) }, build: (g, i) => g.node('Unsqueeze', [i.x, g.int64([1])]) });
  rule('Squeeze', 'axis 1', { wrt: { x: t([3, 1, 4], 32) }, build: (g, i) => g.node('Squeeze', [i.x, g.int64([1])]) });
  rule('Gather', 'embedding rows with repeats', {
    wrt: { E: t([6, 4], 33) },
    constants: { idx: ids([2, 3], [0, 5, 5, 2, 0, 0]) },
    build: (g, i) => g.node('Gather', [i.E, i.idx], { axis: 0 }),
  });
  rule('GatherElements', 'axis 1 (NLL pick)', {
    wrt: { x: t([3, 5], 34) },
    constants: { idx: ids([3, 1], [4, 0, 2]) },
    build: (g, i) => g.node('GatherElements', [i.x, i.idx], { axis: 1 }),
  });
  rule('ReduceSum', 'axes [1] keepdims 0', { wrt: { x: t([2, 3, 4], 35) }, build: (g, i) => g.node('ReduceSum', [i.x, g.int64([1])], { keepdims: 0 }) });
  rule('ReduceSum', 'all axes', { wrt: { x: t([2, 3], 36) }, build: (g, i) => g.node('ReduceSum', [i.x], { keepdims: 0 }) });
  rule('ReduceMean', 'axes [-1] keepdims 1', { wrt: { x: t([2, 3, 4], 37) }, build: (g, i) => g.node('ReduceMean', [i.x, g.int64([-1])], { keepdims: 1 }) });

  test('every registered rule has a finite-difference case', () => {
    assert.deepEqual(DIFFERENTIABLE_OPS.filter((op) => !covered.has(op)), []);
  });

  test('a composite: the same value used twice accumulates both contributions', () =>
    checkGradients({ wrt: { x: t([3, 4], 38) }, build: (g, i) => g.node('Mul', [g.node('Tanh', [i.x]), g.node('Exp', [i.x])]) }));
});
