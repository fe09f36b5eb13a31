/**
 * The float64 reference evaluator against onnxruntime-node, op by op: elementwise, network and
 * reduction ops (shape/index ops: reference.shape.test.ts; whole engine graphs: reference.graph.test.ts).
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { erf, erfc } from '../../../src/engine/graph/reference/erf';
import { evaluateGraph, REFERENCE_OPS } from '../../../src/engine/graph/reference/evaluate';
import { GraphBuilder } from '../../../src/engine/graph/builder';
import type { Case, In } from './referenceHarness';
import { checkAll, checkOp } from './referenceHarness';

const f = (shape: readonly number[], lo?: number, hi?: number): In => ({ shape, lo, hi });
const i64 = (values: readonly number[], shape: readonly number[] = [values.length]): In => ({ shape, kind: 'int64', values, constant: true });

/** The broadcasting pairs every binary op is checked on (the brief's cases plus scalars and equal shapes). */
const PAIRS: readonly [number[], number[]][] = [
  [[2, 3, 4], [4]],
  [[2, 1, 4], [3, 1]],
  [[5], [2, 5]],
  [[3, 4], [3, 4]],
  [[], [2, 3]],
  [[1], [3, 1, 2]],
];

describe('reference evaluator: elementwise ops match ORT', () => {
  test('Add, Sub, Mul with broadcasting', async () => {
    for (const op of ['Add', 'Sub', 'Mul']) await checkAll(PAIRS.map(([a, b], k) => ({ op, inputs: [f(a), f(b)], seed: k })));
  });

  test('Div with broadcasting (denominators away from 0)', async () => {
    await checkAll(PAIRS.map(([a, b], k) => ({ op: 'Div', inputs: [f(a), f(b, 0.5, 2)], seed: k })));
  });

  test('Pow: float exponents, broadcast, and negative bases with integral exponents', async () => {
    await checkAll(PAIRS.map(([a, b], k) => ({ op: 'Pow', inputs: [f(a, 0.1, 2), f(b, -2, 2)], seed: k })));
    await checkOp({ op: 'Pow', inputs: [f([2, 3]), { shape: [], values: [3] }] });
    await checkOp({ op: 'Pow', inputs: [f([4]), { shape: [1], values: [2], constant: true }] });
  });

  test('integer Add, Sub, Mul, Div (truncating)', async () => {
    const a: In = { shape: [2, 3], kind: 'int64', values: [-7, 7, 9, -9, 0, 5] };
    const b: In = { shape: [3], kind: 'int64', values: [2, -2, 4] };
    for (const op of ['Add', 'Sub', 'Mul', 'Div']) await checkOp({ op, inputs: [a, b] });
  });

  test('unary ops', async () => {
    const shapes = [[2, 3, 4], [5], []];
    const ranges: Record<string, [number, number]> = {
      Neg: [-3, 3], Exp: [-3, 3], Log: [0.05, 5], Tanh: [-4, 4], Sqrt: [0, 5], Reciprocal: [0.2, 3], Sigmoid: [-12, 12], Identity: [-3, 3], Erf: [-4, 4], Relu: [-2, 2],
    };
    for (const [op, [lo, hi]] of Object.entries(ranges)) {
      await checkAll(shapes.map((s, k) => ({ op, inputs: [f(s, lo, hi)], seed: k })));
    }
    await checkOp({ op: 'Reciprocal', inputs: [f([6], -3, -0.2)] });
    await checkOp({ op: 'Neg', inputs: [{ shape: [3], kind: 'int64', values: [-2, 0, 5] }] });
  });

  test('Max and Min: one, two and three inputs, broadcast', async () => {
    for (const op of ['Max', 'Min']) {
      await checkOp({ op, inputs: [f([3, 2])] });
      await checkAll(PAIRS.map(([a, b], k) => ({ op, inputs: [f(a), f(b)], seed: k })));
      await checkOp({ op, inputs: [f([2, 1, 4]), f([3, 1]), f([4])] });
    }
  });

  test('Clip with both, one or no bounds', async () => {
    const x = f([3, 4], -3, 3);
    const lo: In = { shape: [], values: [-0.5], constant: true };
    const hi: In = { shape: [], values: [1.25], constant: true };
    await checkOp({ op: 'Clip', inputs: [x, lo, hi] });
    await checkOp({ op: 'Clip', inputs: [x, lo] });
    await checkOp({ op: 'Clip', inputs: [x, { ...lo, absent: true }, hi] });
    await checkOp({ op: 'Clip', inputs: [x] });
  });

  test('Where with broadcasting condition and branches', async () => {
    await checkOp({ op: 'Where', inputs: [{ shape: [2, 1, 4], kind: 'bool' }, f([3, 1]), f([4])] });
    await checkOp({ op: 'Where', inputs: [{ shape: [3, 4], kind: 'bool' }, f([3, 4]), f([])] });
  });

  test('Equal, Less, Greater (bool results), floats and ints', async () => {
    // Small integers as floats so that Equal sees ties.
    const small = (shape: number[]): In => ({ shape, values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => (k * 7) % 3) });
    for (const op of ['Equal', 'Less', 'Greater']) {
      await checkOp({ op, inputs: [small([2, 3, 4]), small([4])] });
      await checkOp({ op, inputs: [f([2, 1, 4]), f([3, 1])] });
      await checkOp({ op, inputs: [{ shape: [5], kind: 'int64', lo: -2, hi: 3 }, { shape: [2, 5], kind: 'int64', lo: -2, hi: 3 }] });
    }
  });

  test('Cast between float, int64 and bool', async () => {
    await checkOp({ op: 'Cast', inputs: [f([3, 4], -5, 5)], attrs: { to: 7 } }); // truncates toward 0
    await checkOp({ op: 'Cast', inputs: [{ shape: [6], values: [0, -0.5, 2, 0, 3.5, -1] }], attrs: { to: 9 } });
    await checkOp({ op: 'Cast', inputs: [{ shape: [2, 3], kind: 'int64', lo: -9, hi: 9 }], attrs: { to: 1 } });
    await checkOp({ op: 'Cast', inputs: [{ shape: [4], kind: 'bool' }], attrs: { to: 1 } });
  });
});

describe('reference evaluator: network ops match ORT', () => {
  test('MatMul: batch broadcasting, 2-D × N-D, 1-D operands', async () => {
    const pairs: [number[], number[]][] = [
      [[2, 3, 4, 5], [5, 6]],
      [[4, 5], [2, 5, 3]],
      [[2, 1, 3, 4], [5, 4, 2]],
      [[3, 4], [4, 2]],
      [[5], [5, 3]],
      [[3, 5], [5]],
      [[5], [5]],
      [[5], [2, 5, 3]],
      [[2, 3, 5], [5]],
    ];
    await checkAll(pairs.map(([a, b], k): Case => ({ op: 'MatMul', inputs: [f(a), f(b)], seed: k })));
  });

  test('Gemm: transposes, alpha/beta, C absent or broadcast', async () => {
    const M = 3, K = 4, N = 5;
    const cs: (number[] | undefined)[] = [undefined, [N], [1, N], [M, 1], [M, N], []];
    let seed = 0;
    for (const transA of [0, 1]) {
      for (const transB of [0, 1]) {
        for (const c of cs) {
          const inputs = [f(transA ? [K, M] : [M, K]), f(transB ? [N, K] : [K, N]), ...(c ? [f(c)] : [])];
          await checkOp({ op: 'Gemm', inputs, attrs: { transA, transB }, seed: seed++ });
        }
      }
    }
    await checkOp({ op: 'Gemm', inputs: [f([M, K]), f([K, N]), f([N])], attrs: { alpha: { float: 0.5 }, beta: { float: -2 } } });
  });

  test('LayerNormalization: axis, epsilon, optional bias, Mean and InvStdDev outputs', async () => {
    await checkOp({ op: 'LayerNormalization', inputs: [f([2, 3, 8], -3, 3), f([8]), f([8])], attrs: { axis: -1, epsilon: { float: 1e-5 } } });
    await checkOp({ op: 'LayerNormalization', inputs: [f([2, 3, 8]), f([3, 8]), f([3, 8])], attrs: { axis: 1 } });
    await checkOp({ op: 'LayerNormalization', inputs: [f([4, 6], 0, 1), f([6])], attrs: { epsilon: { float: 1e-2 } } });
    await checkOp({ op: 'LayerNormalization', inputs: [f([2, 3, 8]), f([8]), f([8])], attrs: { axis: -1 }, outputs: 3 });
  });

  test('Gelu: exact and tanh approximation', async () => {
    for (const approximate of ['none', 'tanh']) {
      await checkOp({ op: 'Gelu', inputs: [f([2, 3, 4], -5, 5)], attrs: { approximate } });
    }
    await checkOp({ op: 'Gelu', inputs: [f([7], -9, 9)] });
  });

  test('erf and erfc are accurate to a few ulp, erfc in relative terms deep in its tail', () => {
    // Values from CPython's math.erf / math.erfc.
    const erfs: [number, number][] = [[0, 0], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149],
      [2, 0.9953222650189527], [3, 0.9999779095030014], [-1.5, -0.9661051464753108], [5, 0.9999999999984626]];
    const erfcs: [number, number][] = [[0.5, 0.4795001221869535], [1, 0.15729920705028513], [2, 0.004677734981047265],
      [3, 2.2090496998585438e-5], [5, 1.5374597944280351e-12], [8, 1.1224297172982928e-29], [-2, 1.9953222650189528]];
    const close = (got: number, want: number, ulps: number): boolean => Math.abs(got - want) <= ulps * Number.EPSILON * Math.abs(want);
    for (const [x, y] of erfs) assert.ok(close(erf(x), y, 4), `erf(${x}) = ${erf(x)}, want ${y}`);
    for (const [x, y] of erfcs) assert.ok(close(erfc(x), y, 40), `erfc(${x}) = ${erfc(x)}, want ${y}`);
  });

  test('Softmax and LogSoftmax on every axis, with an additive -1e9 mask', async () => {
    for (const op of ['Softmax', 'LogSoftmax']) {
      for (const axis of [-1, 0, 1, 2]) await checkOp({ op, inputs: [f([2, 3, 4], -4, 4)], attrs: { axis } });
      await checkOp({ op, inputs: [f([3, 5])] });
    }
    const mask = { shape: [3, 3], values: [0, -1e9, -1e9, 0, 0, -1e9, 0, 0, 0] };
    await checkOp({ op: 'Softmax', inputs: [mask], attrs: { axis: -1 } });
  });
});

describe('reference evaluator: reductions match ORT', () => {
  test('ReduceSum, ReduceMean, ReduceMax, ReduceProd over axes inputs, keepdims, all axes', async () => {
    const axesCases: (number[] | undefined)[] = [[1], [0, 2], [-1], undefined, []];
    let seed = 0;
    for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceProd']) {
      for (const axes of axesCases) {
        for (const keepdims of [1, 0]) {
          const inputs = [f([2, 3, 4]), ...(axes ? [i64(axes)] : [])];
          await checkOp({ op, inputs, attrs: { keepdims }, seed: seed++ });
        }
      }
    }
    await checkOp({ op: 'ReduceSum', inputs: [{ shape: [2, 3], kind: 'int64', lo: -5, hi: 5 }, i64([1])] });
  });

  test('ArgMax on each axis, keepdims, ties resolved first or last', async () => {
    const ties: In = { shape: [3, 4], values: [1, 2, 2, 0, 3, 3, 3, 3, 0, 1, 0, 1] };
    for (const axis of [0, 1, -1]) {
      for (const keepdims of [1, 0]) await checkOp({ op: 'ArgMax', inputs: [f([2, 3, 4])], attrs: { axis, keepdims } });
    }
    for (const select_last_index of [0, 1]) {
      for (const axis of [0, 1]) await checkOp({ op: 'ArgMax', inputs: [ties], attrs: { axis, select_last_index } });
    }
  });
});

describe('reference evaluator: API', () => {
  test('unsupported ops and missing feeds are reported by name', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', [2]);
    g.node('Hardmax', [x], undefined, 'y');
    g.output('y', [2]);
    assert.throws(() => evaluateGraph(g.build(), { x: { shape: [2], data: new Float64Array(2) } }), /no reference implementation for op Hardmax/);
    assert.throws(() => evaluateGraph(g.build(), {}), /input x was not fed/);
    assert.throws(() => evaluateGraph(g.build(), { x: { shape: [3], data: new Float64Array(3) } }), /does not match/);
  });

  test('intermediate values can be fetched, initializers overridden, and only needed nodes run', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', ['n']);
    const w = g.float([2], []);
    const h = g.node('Mul', [x, w], undefined, 'h');
    g.node('Add', [h, g.float([1], [])], undefined, 'y');
    g.node('Hardmax', [x], undefined, 'unused');
    const graph = g.build();
    const feeds = { x: { shape: [3], data: new Float64Array([1, 2, 3]) } };
    const out = evaluateGraph(graph, feeds, ['h', 'y']);
    assert.deepEqual(out.h, { shape: [3], data: new Float64Array([2, 4, 6]) });
    assert.deepEqual(out.y, { shape: [3], data: new Float64Array([3, 5, 7]) });
    const bumped = evaluateGraph(graph, { ...feeds, [w]: { shape: [], data: new Float64Array([0.5]) } }, ['y']);
    assert.deepEqual(bumped.y, { shape: [3], data: new Float64Array([1.5, 2, 2.5]) });
    assert.throws(() => evaluateGraph(graph, { ...feeds, [w]: { shape: [2], data: new Float64Array(2) } }), /does not match/);
    assert.throws(() => evaluateGraph(graph, { ...feeds, typo: { shape: [], data: new Float64Array(1) } }), /neither an input nor an initializer/);
    // Results never alias the caller's buffers, so perturbing a feed in place leaves earlier results intact.
    const same = evaluateGraph(graph, feeds, ['x']);
    feeds.x.data[0] = 100;
    assert.equal((same.x as { data: Float64Array }).data[0], 1);
  });

  test('every op in the list of the brief is implemented', () => {
    // The brief's list, plus what the gradient graphs emit (Erf, Relu, ReduceProd, ArgMax, Range).
    const brief = `Erf Relu ReduceProd ArgMax Range Add Sub Mul Div Neg Exp Log Tanh Sqrt Pow Reciprocal MatMul Gemm LayerNormalization Gelu Softmax LogSoftmax Reshape
      Transpose Gather GatherElements ScatterND ScatterElements ReduceSum ReduceMean ReduceMax Unsqueeze Squeeze Concat Slice Shape
      ConstantOfShape Expand Identity Where Equal Less Greater Cast Max Min Clip Sigmoid`.split(/\s+/);
    assert.deepEqual(brief.filter((op) => !REFERENCE_OPS.includes(op)), []);
  });
});
