import type { GradRule } from '../autodiff/context';

/** Ops that only move values: the gradient moves back the same way. */
export const shapeGrads: Record<string, GradRule> = {
  Reshape: (c) => [c.g.node('Reshape', [c.GO(0), c.g.node('Shape', [c.I(0)])]), undefined],
  Unsqueeze: (c) => [c.g.node('Reshape', [c.GO(0), c.g.node('Shape', [c.I(0)])]), undefined],
  Squeeze: (c) => [c.g.node('Reshape', [c.GO(0), c.g.node('Shape', [c.I(0)])]), undefined],
  Transpose: (c) => {
    const perm = c.attr<number[]>('perm', []);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.g.node('Transpose', [c.GO(0)], { perm: inverse })];
  },
};

/** Ops whose outputs carry no gradient (shapes, comparisons, integer casts, constants). */
export const NO_GRADIENT = new Set(['Shape', 'ConstantOfShape', 'Equal', 'Less', 'Greater', 'Range', 'Cast', 'ArgMax']);
