import type { GradRule } from '../autodiff/context';
import type { GraphBuilder } from '../graph/builder';

/** x @ W + b with W stored [in, out]: [..., in] → [..., out]. */
export function linear(g: GraphBuilder, x: string, w: string, b?: string, out?: string): string {
  if (!b) return g.node('MatMul', [x, w], undefined, out);
  return g.node('Add', [g.node('MatMul', [x, w]), b], undefined, out);
}

const swapLast = (rank: number): number[] => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];

export const matmulGrads: Record<string, GradRule> = {
  /**
   * Y = A @ B, A [..., M, K], B [..., K, N]: ∂A = GO @ Bᵀ, ∂B = Aᵀ @ GO (summed over broadcast batch dims).
   * A weight B [K, N] under a batched A takes one Gemm over the flattened rows instead of a batch of
   * matmuls plus a ReduceSum.
   */
  MatMul: (c) => {
    const [a, b] = [c.shape(c.I(0)), c.shape(c.I(1))];
    const { g } = c;
    let ga: string | undefined;
    let gb: string | undefined;
    if (c.needs(0)) ga = c.unbroadcast(g.node('MatMul', [c.GO(0), g.node('Transpose', [c.I(1)], { perm: swapLast(b.length) })]), 0);
    if (c.needs(1)) {
      const [K, N] = [b[b.length - 2], b[b.length - 1]];
      if (b.length === 2 && a.length >= 2 && typeof K === 'number' && typeof N === 'number') {
        const rowsA = a.length === 2 ? c.I(0) : g.node('Reshape', [c.I(0), g.int64([-1, K])]);
        const rowsG = a.length === 2 ? c.GO(0) : g.node('Reshape', [c.GO(0), g.int64([-1, N])]);
        gb = g.node('Gemm', [rowsA, rowsG], { transA: 1 });
      } else {
        gb = c.unbroadcast(g.node('MatMul', [g.node('Transpose', [c.I(0)], { perm: swapLast(a.length) }), c.GO(0)]), 1);
      }
    }
    return [ga, gb];
  },
  /** Y = A'B' + C (A' = Aᵀ if transA, B' = Bᵀ if transB; alpha = beta = 1): ∂A' = GO·B'ᵀ, ∂B' = A'ᵀ·GO, ∂C = GO summed to C's shape. */
  Gemm: (c) => {
    const { g } = c;
    if (c.attr<{ float: number } | undefined>('alpha', undefined) || c.attr<{ float: number } | undefined>('beta', undefined)) {
      throw new Error('autodiff: Gemm with alpha/beta is not supported');
    }
    const tA = c.attr('transA', 0);
    const tB = c.attr('transB', 0);
    const [A, B, GO] = [c.I(0), c.I(1), c.GO(0)];
    const ga = !c.needs(0) ? undefined : tA ? g.node('Gemm', [B, GO], { transA: tB, transB: 1 }) : g.node('Gemm', [GO, B], { transB: tB ? 0 : 1 });
    const gb = !c.needs(1) ? undefined : tB ? g.node('Gemm', [GO, A], { transA: 1, transB: tA }) : g.node('Gemm', [A, GO], { transA: tA ? 0 : 1 });
    const gc = c.node.inputs[2] && c.needs(2) ? c.unbroadcast(GO, 2) : undefined;
    return [ga, gb, gc];
  },
};
