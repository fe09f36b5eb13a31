import type { GradRule } from '../autodiff/context';
import type { GradContext } from '../autodiff/context';

/** GO of a reduction, broadcast back to the input's shape (re-inserting reduced axes when keepdims = 0). */
function spread(c: GradContext): string {
  const { g } = c;
  let go = c.GO(0);
  // Reducing over all axes (no axes input) leaves a scalar, which Expand broadcasts as it is.
  if (c.attr<number>('keepdims', 1) === 0 && c.I(1)) go = g.node('Unsqueeze', [go, c.I(1)]);
  return g.node('Expand', [go, g.node('Shape', [c.I(0)])]);
}

export const reduceGrads: Record<string, GradRule> = {
  /** y = Σ x over axes: ∂x = GO broadcast back. */
  ReduceSum: (c) => [spread(c), undefined],
  /** y = mean x over axes: ∂x = GO broadcast back / (elements per mean). */
  ReduceMean: (c) => {
    const { g } = c;
    const count = g.node('Div', [
      g.node('Cast', [g.node('ReduceProd', [g.node('Shape', [c.I(0)])], { keepdims: 0 })], { to: 1 }),
      g.node('Cast', [g.node('ReduceProd', [g.node('Shape', [c.O(0)])], { keepdims: 0 })], { to: 1 }),
    ]);
    return [g.node('Div', [spread(c), count]), undefined];
  },
};
