import type { GradRule } from '../autodiff/context';

/** Ops that only move values: the gradient moves back the same way. */
export const shapeGrads: Record<string, GradRule> = {
  Reshape: (c) => [c.g.node('Reshape', [c.GO(0), c.g.node('Shape', [c.I(0)])]), undefined],
  Unsqueeze: (c) => [c.g.node('Reshape', [c.GO(0), c.g.node('Shape', [c.I(0)])]), undefined],
  Squeeze: (c) => [c.g.node('Reshape', [c.GO(0), c.g.node('Shape', [c.I(0)])]), undefined],
  // y = concat(x_0, …, x_n; axis): dx_i is the slice of dy at x_i's extent along axis (sizes read at run time).
  Concat: (c) => {
    const axis = c.attr<number>('axis', 0);
    const at = c.g.int64([axis]);
    const size = (i: number): string => c.g.node('Gather', [c.g.node('Shape', [c.I(i)]), at], { axis: 0 }); // [1]
    const grads: (string | undefined)[] = [];
    let start = c.g.int64([0]);
    c.node.inputs.forEach((_, i) => {
      const end = c.g.node('Add', [start, size(i)]);
      grads.push(c.needs(i) ? c.g.node('Slice', [c.GO(0), start, end, at]) : undefined);
      start = end;
    });
    return grads;
  },
  Transpose: (c) => {
    const perm = c.attr<number[]>('perm', []);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.g.node('Transpose', [c.GO(0)], { perm: inverse })];
  },
};

/** Ops whose outputs carry no gradient (shapes, comparisons, integer casts, constants). */
export const NO_GRADIENT = new Set(['Shape', 'ConstantOfShape', 'Equal', 'Less', 'Greater', 'Range', 'Cast', 'ArgMax']);
