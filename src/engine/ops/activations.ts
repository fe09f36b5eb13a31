import type { GradRule } from '../autodiff/context';
import type { GraphBuilder } from '../graph/builder';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/** GPT-2's `gelu_new`: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as opset 20 Gelu(approximate=tanh). */
export function geluTanh(g: GraphBuilder, x: string, out?: string): string {
  return g.node('Gelu', [x], { approximate: 'tanh' }, out);
}

/** NeoX's `gelu`: the exact x·Φ(x) (erf form), opset 20 Gelu(approximate=none); its gradient is Gelu's rule below. */
export function geluErf(g: GraphBuilder, x: string, out?: string): string {
  return g.node('Gelu', [x], { approximate: 'none' }, out);
}

/** SiLU (swish) x·σ(x) (Llama's `silu`), from Mul and Sigmoid, whose rules give its gradient. */
export function silu(g: GraphBuilder, x: string, out?: string): string {
  return g.node('Mul', [x, g.node('Sigmoid', [x])], undefined, out);
}

export const activationGrads: Record<string, GradRule> = {
  /**
   * tanh form: y = ½x(1 + t), t = tanh(c(x + kx³)): y' = ½(1 + t) + ½x(1 − t²)·c(1 + 3kx²).
   * exact form: y = xΦ(x): y' = Φ(x) + x·φ(x).
   */
  Gelu: (c) => {
    const { g } = c;
    const x = c.I(0);
    const x2 = g.node('Mul', [x, x]);
    const half = g.float([0.5]);
    const one = g.float([1]);
    let d: string;
    if (c.attr<string>('approximate', 'none') === 'tanh') {
      const u = g.node('Mul', [g.float([SQRT_2_OVER_PI]), g.node('Add', [x, g.node('Mul', [g.float([GELU_K]), g.node('Mul', [x, x2])])])]);
      const t = g.node('Tanh', [u]);
      const a = g.node('Mul', [half, g.node('Add', [one, t])]);
      const du = g.node('Mul', [g.float([SQRT_2_OVER_PI]), g.node('Add', [one, g.node('Mul', [g.float([3 * GELU_K]), x2])])]);
      const b = g.node('Mul', [g.node('Mul', [half, x]), g.node('Mul', [g.node('Sub', [one, g.node('Mul', [t, t])]), du])]);
      d = g.node('Add', [a, b]);
    } else {
      const cdf = g.node('Mul', [half, g.node('Add', [one, g.node('Erf', [g.node('Mul', [x, g.float([Math.SQRT1_2])])])])]);
      const pdf = g.node('Mul', [g.float([1 / Math.sqrt(2 * Math.PI)]), g.node('Exp', [g.node('Mul', [g.float([-0.5]), x2])])]);
      d = g.node('Add', [cdf, g.node('Mul', [x, pdf])]);
    }
    return [g.node('Mul', [c.GO(0), d])];
  },
  /** y = softmax(x): ∂x = y · (GO − Σ GO·y) along the axis. */
  Softmax: (c) => {
    const { g } = c;
    const axis = g.int64([c.attr('axis', -1)]);
    const dot = g.node('ReduceSum', [g.node('Mul', [c.GO(0), c.O(0)]), axis], { keepdims: 1 });
    return [g.node('Mul', [c.O(0), g.node('Sub', [c.GO(0), dot])])];
  },
  /** y = log softmax(x): ∂x = GO − eʸ · Σ GO along the axis. */
  LogSoftmax: (c) => {
    const { g } = c;
    const axis = g.int64([c.attr('axis', -1)]);
    const sum = g.node('ReduceSum', [c.GO(0), axis], { keepdims: 1 });
    return [g.node('Sub', [c.GO(0), g.node('Mul', [g.node('Exp', [c.O(0)]), sum])])];
  },
};
