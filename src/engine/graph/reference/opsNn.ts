/**
 * The network ops: MatMul (numpy semantics), Gemm, LayerNormalization, Gelu, Softmax, LogSoftmax.
 * All float-only, all accumulated in float64 in plain loops (no blocking: the graphs it checks are small).
 */
import type { OpArgs, OpImpl } from './args';
import type { FloatValue } from './ndarray';
import { erfc } from './erf';
import { broadcastIndex, broadcastShapes, floatValue, fmtShape, normAxis, numel } from './ndarray';

/**
 * numpy matmul: a 1-D left operand is a row vector and a 1-D right operand a column vector, each
 * promoted dimension removed from the result; leading (batch) dimensions broadcast.
 */
export function matmul(a: FloatValue, b: FloatValue): FloatValue {
  if (a.shape.length === 0 || b.shape.length === 0) throw new Error('MatMul: scalar operands are not allowed');
  const aVec = a.shape.length === 1;
  const bVec = b.shape.length === 1;
  const A = aVec ? [1, a.shape[0]] : a.shape;
  const B = bVec ? [b.shape[0], 1] : b.shape;
  const M = A[A.length - 2];
  const K = A[A.length - 1];
  const N = B[B.length - 1];
  if (B[B.length - 2] !== K) throw new Error(`MatMul: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)} inner dimensions differ`);
  const batchA = A.slice(0, -2);
  const batchB = B.slice(0, -2);
  const batch = broadcastShapes(batchA, batchB);
  const ia = broadcastIndex(batchA, batch);
  const ib = broadcastIndex(batchB, batch);
  const nb = numel(batch);
  const out = new Float64Array(nb * M * N);
  const ad = a.data;
  const bd = b.data;
  for (let t = 0; t < nb; t++) {
    const ao = (ia ? ia[t] : t) * M * K;
    const bo = (ib ? ib[t] : t) * K * N;
    const oo = t * M * N;
    // i-k-j order: the inner loop walks rows of b and out contiguously.
    for (let i = 0; i < M; i++) {
      for (let k = 0; k < K; k++) {
        const x = ad[ao + i * K + k];
        const brow = bo + k * N;
        const orow = oo + i * N;
        for (let j = 0; j < N; j++) out[orow + j] += x * bd[brow + j];
      }
    }
  }
  return floatValue([...batch, ...(aVec ? [] : [M]), ...(bVec ? [] : [N])], out);
}

/** Y = alpha·op(A)·op(B) + beta·C, with C broadcast unidirectionally to [M, N]. */
const gemm: OpImpl = (args) => {
  const a = args.float(0);
  const b = args.float(1);
  const c = args.optional(2) ? args.float(2) : undefined;
  if (a.shape.length !== 2 || b.shape.length !== 2) args.fail('A and B must be 2-D');
  const transA = args.attrInt('transA', 0) !== 0;
  const transB = args.attrInt('transB', 0) !== 0;
  const alpha = args.attrFloat('alpha', 1);
  const beta = args.attrFloat('beta', 1);
  const [M, K] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [K2, N] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (K !== K2) args.fail(`inner dimensions differ: ${fmtShape(a.shape)}, ${fmtShape(b.shape)}`);
  // Strides of op(A) over (i, k) and of op(B) over (k, j) in the stored row-major arrays.
  const [aI, aK] = transA ? [1, M] : [K, 1];
  const [bK, bJ] = transB ? [1, K] : [N, 1];
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a.data[i * aI + k * aK] * b.data[k * bK + j * bJ];
      out[i * N + j] = alpha * s;
    }
  }
  if (c) {
    const ic = broadcastIndex(c.shape, [M, N]);
    for (let i = 0; i < out.length; i++) out[i] += beta * c.data[ic ? ic[i] : i];
  }
  return [floatValue([M, N], out)];
};

/**
 * LayerNormalization (opset 17): normalizes over axes [axis, rank); Scale and B broadcast to that
 * normalized shape. Outputs Y and, when the node names them, Mean and InvStdDev (shape of X with the
 * normalized axes kept as 1). Variance is the biased mean of squared deviations.
 */
const layerNorm: OpImpl = (args) => {
  const x = args.float(0);
  const scale = args.float(1);
  const bias = args.optional(2) ? args.float(2) : undefined;
  const rank = x.shape.length;
  const axis = normAxis(args.attrInt('axis', -1), rank);
  const eps = args.attrFloat('epsilon', 1e-5);
  const normShape = x.shape.slice(axis);
  const inner = numel(normShape);
  const outer = numel(x.shape.slice(0, axis));
  const is = broadcastIndex(scale.shape, normShape);
  const ib = bias ? broadcastIndex(bias.shape, normShape) : undefined;
  const y = new Float64Array(x.data.length);
  const means = new Float64Array(outer);
  const invStd = new Float64Array(outer);
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    let mean = 0;
    for (let j = 0; j < inner; j++) mean += x.data[base + j];
    mean /= inner;
    let v = 0;
    for (let j = 0; j < inner; j++) v += (x.data[base + j] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / inner + eps);
    means[o] = mean;
    invStd[o] = inv;
    for (let j = 0; j < inner; j++) {
      const sj = is ? is[j] : j;
      const n = (x.data[base + j] - mean) * inv * scale.data[sj];
      y[base + j] = bias ? n + bias.data[ib ? ib[j] : j] : n;
    }
  }
  const statShape = [...x.shape.slice(0, axis), ...normShape.map(() => 1)];
  return [floatValue(x.shape, y), floatValue(statShape, means), floatValue(statShape, invStd)];
};

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Gelu (opset 20): exact 0.5·x·(1 + erf(x/√2)) = 0.5·x·erfc(-x/√2), or approximate = 'tanh' (GPT-2's gelu_new). */
const gelu: OpImpl = (args) => {
  const x = args.float(0);
  const mode = args.attrString('approximate', 'none');
  if (mode !== 'none' && mode !== 'tanh') args.fail(`unknown approximate '${mode}'`);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i];
    out[i] = mode === 'tanh' ? 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))) : 0.5 * v * erfc(-v / Math.SQRT2);
  }
  return [floatValue(x.shape, out)];
};

/** Softmax / LogSoftmax (opset 13+) along one axis, max-shifted so exp never overflows. */
function softmaxOp(log: boolean): OpImpl {
  return (args: OpArgs) => {
    const x = args.float(0);
    const axis = normAxis(args.attrInt('axis', -1), x.shape.length);
    const dim = x.shape[axis];
    const inner = numel(x.shape.slice(axis + 1));
    const outer = numel(x.shape.slice(0, axis));
    const out = new Float64Array(x.data.length);
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < inner; r++) {
        const base = o * dim * inner + r;
        let max = -Infinity;
        for (let j = 0; j < dim; j++) max = Math.max(max, x.data[base + j * inner]);
        let sum = 0;
        for (let j = 0; j < dim; j++) sum += Math.exp(x.data[base + j * inner] - max);
        const logSum = Math.log(sum);
        for (let j = 0; j < dim; j++) {
          const z = x.data[base + j * inner] - max;
          out[base + j * inner] = log ? z - logSum : Math.exp(z) / sum;
        }
      }
    }
    return [floatValue(x.shape, out)];
  };
}

export const NN_OPS: Record<string, OpImpl> = {
  MatMul: (args) => [matmul(args.float(0), args.float(1))],
  Gemm: gemm,
  LayerNormalization: layerNorm,
  Gelu: gelu,
  Softmax: softmaxOp(false),
  LogSoftmax: softmaxOp(true),
};
