/** The float64 reference evaluator against onnxruntime-node: shape, layout and indexing ops. */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rawBytes } from '../../../src/engine/graph/proto';
import type { TensorValue } from '../../../src/engine/graph/proto';
import type { In } from './referenceHarness';
import { checkAll, checkOp } from './referenceHarness';

const f = (shape: readonly number[]): In => ({ shape });
const i64 = (values: readonly number[], shape: readonly number[] = [values.length]): In => ({ shape, kind: 'int64', values, constant: true });
const idx = (shape: readonly number[], lo: number, hi: number): In => ({ shape, kind: 'int64', lo, hi });

describe('reference evaluator: shape ops match ORT', () => {
  test('Reshape with 0 (copy) and -1 (infer)', async () => {
    const specs = [[0, -1], [0, 0, 2, 2], [-1], [6, 4], [4, 0, -1], [2, 12, 1]];
    await checkAll(specs.map((s, k) => ({ op: 'Reshape', inputs: [f([2, 3, 4]), i64(s)], seed: k })));
    await checkOp({ op: 'Reshape', inputs: [{ shape: [2, 3], kind: 'int64', lo: -5, hi: 5 }, i64([3, 2])] });
  });

  test('Transpose with the attention perms and the default (reversed) order', async () => {
    for (const perm of [[0, 2, 1, 3], [0, 2, 3, 1], [3, 1, 0, 2]]) await checkOp({ op: 'Transpose', inputs: [f([2, 3, 4, 5])], attrs: { perm } });
    await checkOp({ op: 'Transpose', inputs: [f([2, 3, 4])] });
    await checkOp({ op: 'Transpose', inputs: [f([3, 5])], attrs: { perm: [1, 0] } });
  });

  test('Unsqueeze and Squeeze with axes inputs (negative too) and Squeeze without', async () => {
    for (const axes of [[0], [-1], [1, 3], [-1, 0]]) await checkOp({ op: 'Unsqueeze', inputs: [f([3, 4]), i64(axes)] });
    await checkOp({ op: 'Unsqueeze', inputs: [f([]), i64([0])] });
    for (const axes of [[0], [-2], [0, 2]]) await checkOp({ op: 'Squeeze', inputs: [f([1, 3, 1, 4]), i64(axes)] });
    await checkOp({ op: 'Squeeze', inputs: [f([1, 3, 1, 4])] });
  });

  test('Concat along each axis, floats and ints', async () => {
    for (const axis of [0, 1, -1]) {
      const shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]].map((s, k) => s.map((d, i) => (i === (axis + 3) % 3 ? d + k : d)));
      await checkOp({ op: 'Concat', inputs: shapes.map(f), attrs: { axis } });
    }
    await checkOp({ op: 'Concat', inputs: [idx([2], 0, 9), idx([3], 0, 9)], attrs: { axis: 0 } });
  });

  test('Slice: axes, steps, negative steps, negative and out-of-range bounds', async () => {
    const x = f([5, 6, 4]);
    const cases: number[][][] = [
      [[1], [4]],
      [[1], [100], [1], [2]],
      [[-1], [-100], [1], [-1]],
      [[4, 5], [0, 1], [0, 1], [-2, -2]],
      [[-3, 0, 1], [-1, 100, 3], [0, 2, 1], [1, 3, 1]],
      [[2], [2], [2]],
      [[100], [200]],
      [[-100], [3], [-1]],
    ];
    for (const [starts, ends, axes, steps] of cases) {
      const inputs = [x, i64(starts), i64(ends), ...(axes ? [i64(axes)] : []), ...(steps ? [i64(steps)] : [])];
      await checkOp({ op: 'Slice', inputs });
    }
  });

  test('Shape (whole, start, end) and Expand (both directions)', async () => {
    await checkOp({ op: 'Shape', inputs: [f([2, 3, 4])] });
    await checkOp({ op: 'Shape', inputs: [f([2, 3, 4])], attrs: { start: 1 } });
    await checkOp({ op: 'Shape', inputs: [f([2, 3, 4])], attrs: { start: -2, end: -1 } });
    await checkOp({ op: 'Expand', inputs: [f([3, 1]), i64([2, 1, 4])] });
    await checkOp({ op: 'Expand', inputs: [f([4]), i64([3, 4])] });
    await checkOp({ op: 'Expand', inputs: [f([2, 1]), i64([1, 1])] });
    await checkOp({ op: 'Expand', inputs: [idx([3, 1], -3, 3), i64([3, 2])] });
  });

  test('Range over floats and ints, empty and negative steps', async () => {
    const fs = (v: number): In => ({ shape: [], values: [v], constant: true });
    const is = (v: number): In => ({ shape: [], kind: 'int64', values: [v], constant: true });
    await checkOp({ op: 'Range', inputs: [fs(0.5), fs(3), fs(0.75)] });
    await checkOp({ op: 'Range', inputs: [fs(3), fs(-1), fs(-1.5)] });
    await checkOp({ op: 'Range', inputs: [is(2), is(11), is(3)] });
    await checkOp({ op: 'Range', inputs: [is(5), is(5), is(1)] });
    await checkOp({ op: 'Range', inputs: [is(4), is(-3), is(-2)] });
  });

  test('ConstantOfShape with float, int64 and default values', async () => {
    const tensor = (dataType: 'float' | 'int64', v: number): TensorValue => ({
      dataType, dims: [1], raw: rawBytes(dataType === 'float' ? Float32Array.of(v) : BigInt64Array.of(BigInt(v))),
    });
    const out = await checkOp({ op: 'ConstantOfShape', inputs: [i64([2, 3])], attrs: { value: tensor('float', 1.5) } });
    assert.deepEqual(out.y0, { shape: [2, 3], data: new Float64Array(6).fill(1.5) });
    const ints = await checkOp({ op: 'ConstantOfShape', inputs: [i64([4])], attrs: { value: tensor('int64', 7) } });
    assert.deepEqual(ints.y0, { shape: [4], ints: [7, 7, 7, 7] });
    await checkOp({ op: 'ConstantOfShape', inputs: [i64([3, 1, 2])] });
  });
});

describe('reference evaluator: indexing ops match ORT', () => {
  test('Gather on several axes, negative and scalar indices, int data', async () => {
    await checkOp({ op: 'Gather', inputs: [f([5, 3]), idx([2, 3], -5, 5)], attrs: { axis: 0 } });
    await checkOp({ op: 'Gather', inputs: [f([2, 4, 3]), idx([2], -4, 4)], attrs: { axis: 1 } });
    await checkOp({ op: 'Gather', inputs: [f([2, 4, 3]), idx([2, 2], -3, 3)], attrs: { axis: -1 } });
    await checkOp({ op: 'Gather', inputs: [f([2, 4, 3]), { shape: [], kind: 'int64', values: [-1], constant: true }], attrs: { axis: 1 } });
    await checkOp({ op: 'Gather', inputs: [idx([6], -9, 9), i64([5, 0, 0])] });
  });

  test('GatherElements along each axis, indices smaller than data', async () => {
    await checkOp({ op: 'GatherElements', inputs: [f([3, 4]), idx([3, 2], -4, 4)], attrs: { axis: 1 } });
    await checkOp({ op: 'GatherElements', inputs: [f([3, 4]), idx([2, 4], -3, 3)], attrs: { axis: 0 } });
    await checkOp({ op: 'GatherElements', inputs: [f([2, 3, 4]), idx([2, 2, 4], 0, 3)], attrs: { axis: -2 } });
  });

  test('ScatterElements with reductions none (unique indices) and add (duplicates)', async () => {
    // Each row writes to distinct columns under 'none': duplicates there are unspecified in ONNX.
    const unique = i64([3, 0, 1, -1, 2, 0], [3, 2]);
    await checkOp({ op: 'ScatterElements', inputs: [f([3, 4]), unique, f([3, 2])], attrs: { axis: 1 } });
    await checkOp({ op: 'ScatterElements', inputs: [f([3, 4]), i64([1, 1, 1, 0, 2, 2], [3, 2]), f([3, 2])], attrs: { axis: 1, reduction: 'add' } });
    await checkOp({ op: 'ScatterElements', inputs: [f([3, 4]), i64([0, 2, 1, 0, 0, 0, 2, 2], [2, 4]), f([2, 4])], attrs: { axis: 0, reduction: 'add' } });
  });

  test('ScatterND: element and slice updates, reductions none and add', async () => {
    await checkOp({ op: 'ScatterND', inputs: [f([4, 3]), i64([2, 0], [2, 1]), f([2, 3])] });
    await checkOp({ op: 'ScatterND', inputs: [f([2, 3, 4]), i64([1, 2, 0, -1], [2, 2]), f([2, 4])] });
    await checkOp({ op: 'ScatterND', inputs: [f([2, 3]), i64([0, 1, 1, 2, 0, 0], [3, 2]), f([3])] });
    await checkOp({ op: 'ScatterND', inputs: [f([4, 3]), i64([1, 1, 3], [3, 1]), f([3, 3])], attrs: { reduction: 'add' } });
  });
});
