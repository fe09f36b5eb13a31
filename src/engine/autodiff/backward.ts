import type { GraphBuilder } from '../graph/builder';
import { gradRule, NO_GRADIENT } from '../ops/registry';
import { makeContext } from './context';
import { ShapeTable } from './shapes';

/** The graph output that carries d loss / d `value`. */
export const gradName = (value: string): string => `grad.${value}`;

/**
 * Reverse-mode autodiff over a graph under construction: appends to `g` the nodes computing
 * d `loss` / d `wrt[i]` (loss must be a scalar) and names each result `grad.<wrt>`.
 * Only nodes on a path from some wrt to the loss are differentiated (tinygrad's target-path walk);
 * contributions to one value from several consumers are summed (micrograd's +=).
 * A wrt the loss does not depend on gets an explicit zero gradient.
 */
export function appendGradients(g: GraphBuilder, loss: string, wrt: readonly string[]): Map<string, string> {
  const forward = [...g.nodeList];
  const shapes = new ShapeTable(g);

  // Values that depend on a wrt (forward sweep) …
  const dependent = new Set(wrt);
  for (const n of forward) {
    if (!NO_GRADIENT.has(n.opType) && n.inputs.some((i) => dependent.has(i))) n.outputs.forEach((o) => dependent.add(o));
  }
  // … and that the loss depends on (backward sweep): together, the path from wrt to loss.
  const onPath = new Set<string>(dependent.has(loss) ? [loss] : []);
  for (let k = forward.length - 1; k >= 0; k--) {
    const n = forward[k];
    if (n.outputs.some((o) => onPath.has(o))) n.inputs.forEach((i) => dependent.has(i) && onPath.add(i));
  }

  const contributions = new Map<string, string[]>([[loss, [g.float([1])]]]);
  const total = (value: string): string | undefined => {
    const parts = contributions.get(value);
    if (!parts || parts.length === 0) return undefined;
    const sum = parts.reduce((acc, p) => g.node('Add', [acc, p]));
    contributions.set(value, [sum]);
    return sum;
  };

  for (let k = forward.length - 1; k >= 0; k--) {
    const n = forward[k];
    if (!n.outputs.some((o) => onPath.has(o)) || NO_GRADIENT.has(n.opType)) continue;
    const outGrads = n.outputs.map(total);
    if (outGrads.every((x) => x === undefined)) continue;
    const needs = (i: number): boolean => onPath.has(n.inputs[i]);
    const gradOut = (i: number): string => {
      const go = outGrads[i];
      if (go === undefined) throw new Error(`autodiff: ${n.opType} output ${i} has no gradient`);
      return go;
    };
    const grads = gradRule(n.opType)(makeContext(g, n, shapes, gradOut, needs));
    grads.forEach((gi, i) => {
      if (gi === undefined || !needs(i)) return;
      const list = contributions.get(n.inputs[i]) ?? [];
      list.push(gi);
      contributions.set(n.inputs[i], list);
    });
  }

  const result = new Map<string, string>();
  for (const w of wrt) {
    const grad = total(w) ?? g.node('ConstantOfShape', [g.node('Shape', [w])]);
    result.set(w, g.alias(grad, gradName(w)));
  }
  return result;
}
