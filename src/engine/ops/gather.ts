import type { GradRule } from '../autodiff/context';

export const gatherGrads: Record<string, GradRule> = {
  /** y = data[idx] along axis 0 (embedding lookup): ∂data = scatter-add of GO rows at idx (repeated ids accumulate). */
  Gather: (c) => {
    const { g } = c;
    if (c.attr('axis', 0) !== 0) throw new Error('autodiff: Gather is differentiated along axis 0 only');
    const zeros = g.node('ConstantOfShape', [g.node('Shape', [c.I(0)])]);
    const idx = g.node('Unsqueeze', [c.I(1), g.int64([-1])]);
    return [g.node('ScatterND', [zeros, idx, c.GO(0)], { reduction: 'add' }), undefined];
  },
  /** y = data[..., idx, ...] elementwise along axis: ∂data = ScatterElements(0, idx, GO, add). */
  GatherElements: (c) => {
    const { g } = c;
    const zeros = g.node('ConstantOfShape', [g.node('Shape', [c.I(0)])]);
    return [g.node('ScatterElements', [zeros, c.I(1), c.GO(0)], { axis: c.attr('axis', 0), reduction: 'add' }), undefined];
  },
};
