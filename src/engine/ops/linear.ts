import type { GraphBuilder } from '../graph/builder';

/** x @ W + b with W stored [in, out]: [..., in] → [..., out]. */
export function linear(g: GraphBuilder, x: string, w: string, b?: string, out?: string): string {
  if (!b) return g.node('MatMul', [x, w], undefined, out);
  return g.node('Add', [g.node('MatMul', [x, w]), b], undefined, out);
}

/** LayerNorm over the last axis with learned scale and shift (opset 17 LayerNormalization). */
export function layerNorm(g: GraphBuilder, x: string, w: string, b: string, eps: number, out?: string): string {
  return g.node('LayerNormalization', [x, w, b], { axis: -1, epsilon: { float: eps } }, out);
}

/** GPT-2's `gelu_new`: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as opset 20 Gelu(approximate=tanh). */
export function geluTanh(g: GraphBuilder, x: string, out?: string): string {
  return g.node('Gelu', [x], { approximate: 'tanh' }, out);
}
