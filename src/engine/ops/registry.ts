import type { GradRule } from '../autodiff/context';
import { activationGrads } from './activations';
import { elementwiseGrads } from './elementwise';
import { gatherGrads } from './gather';
import { matmulGrads } from './matmul';
import { normGrads } from './norm';
import { reduceGrads } from './reduce';
import { NO_GRADIENT, shapeGrads } from './shape';

const RULES: Record<string, GradRule> = {
  ...elementwiseGrads,
  ...matmulGrads,
  ...normGrads,
  ...activationGrads,
  ...shapeGrads,
  ...gatherGrads,
  ...reduceGrads,
};

export { NO_GRADIENT };

/** The gradient rule of an op type; throws for an op with neither a rule nor an explicit no-gradient entry. */
export function gradRule(opType: string): GradRule {
  const rule = RULES[opType];
  if (!rule) throw new Error(`no gradient rule for ${opType}`);
  return rule;
}

export const DIFFERENTIABLE_OPS = Object.keys(RULES);
