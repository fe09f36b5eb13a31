import type { GradRule } from '../autodiff/context';

/**
 * Elementwise ops with numpy broadcasting. Forward: g.node('<Op>', [a, b]). Gradients: the local
 * derivative times GO, then summed back over broadcast axes (unbroadcast).
 */
export const elementwiseGrads: Record<string, GradRule> = {
  Identity: (c) => [c.GO(0)],
  // y = a + b: ∂a = GO, ∂b = GO
  Add: (c) => [c.needs(0) ? c.unbroadcast(c.GO(0), 0) : undefined, c.needs(1) ? c.unbroadcast(c.GO(0), 1) : undefined],
  // y = a − b: ∂a = GO, ∂b = −GO
  Sub: (c) => [c.needs(0) ? c.unbroadcast(c.GO(0), 0) : undefined, c.needs(1) ? c.unbroadcast(c.g.node('Neg', [c.GO(0)]), 1) : undefined],
  // y = a · b: ∂a = GO · b, ∂b = GO · a
  Mul: (c) => [
    c.needs(0) ? c.unbroadcast(c.g.node('Mul', [c.GO(0), c.I(1)]), 0) : undefined,
    c.needs(1) ? c.unbroadcast(c.g.node('Mul', [c.GO(0), c.I(0)]), 1) : undefined,
  ],
  // y = a / b: ∂a = GO / b, ∂b = −GO · y / b
  Div: (c) => [
    c.needs(0) ? c.unbroadcast(c.g.node('Div', [c.GO(0), c.I(1)]), 0) : undefined,
    c.needs(1) ? c.unbroadcast(c.g.node('Neg', [c.g.node('Div', [c.g.node('Mul', [c.GO(0), c.O(0)]), c.I(1)])]), 1) : undefined,
  ],
  Neg: (c) => [c.g.node('Neg', [c.GO(0)])],
  // y = eˣ: ∂x = GO · y
  Exp: (c) => [c.g.node('Mul', [c.GO(0), c.O(0)])],
  // y = ln x: ∂x = GO / x
  Log: (c) => [c.g.node('Div', [c.GO(0), c.I(0)])],
  // y = tanh x: ∂x = GO · (1 − y²)
  Tanh: (c) => [c.g.node('Mul', [c.GO(0), c.g.node('Sub', [c.g.float([1]), c.g.node('Mul', [c.O(0), c.O(0)])])])],
  // y = √x: ∂x = GO · 0.5 / y
  Sqrt: (c) => [c.g.node('Div', [c.g.node('Mul', [c.GO(0), c.g.float([0.5])]), c.O(0)])],
  // y = 1/x: ∂x = −GO · y²
  Reciprocal: (c) => [c.g.node('Neg', [c.g.node('Mul', [c.GO(0), c.g.node('Mul', [c.O(0), c.O(0)])])])],
  // y = σ(x): ∂x = GO · y · (1 − y)
  Sigmoid: (c) => [c.g.node('Mul', [c.GO(0), c.g.node('Mul', [c.O(0), c.g.node('Sub', [c.g.float([1]), c.O(0)])])])],
  // y = xᵖ (p not differentiated): ∂x = GO · p · xᵖ⁻¹
  Pow: (c) => {
    const pm1 = c.g.node('Sub', [c.I(1), c.g.float([1])]);
    return [c.unbroadcast(c.g.node('Mul', [c.GO(0), c.g.node('Mul', [c.I(1), c.g.node('Pow', [c.I(0), pm1])])]), 0), undefined];
  },
  // y = cond ? a : b: ∂a = GO where cond, ∂b = GO elsewhere
  Where: (c) => {
    const zero = c.g.float([0]);
    return [
      undefined,
      c.needs(1) ? c.unbroadcast(c.g.node('Where', [c.I(0), c.GO(0), zero]), 1) : undefined,
      c.needs(2) ? c.unbroadcast(c.g.node('Where', [c.I(0), zero, c.GO(0)]), 2) : undefined,
    ];
  },
};
