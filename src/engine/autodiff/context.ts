import type { GraphBuilder } from '../graph/builder';
import type { NodeSpec } from '../graph/proto';
import type { Shape, ShapeTable } from './shapes';

/**
 * What a gradient rule sees, in ORT training's vocabulary: I(i) forward input, O(i) forward output,
 * GO(i) gradient of output i, and `needs(i)` whether input i wants a gradient at all.
 * Rules emit standard-opset nodes only (onnxruntime-node has no training kernels).
 */
export interface GradContext {
  readonly g: GraphBuilder;
  readonly node: NodeSpec;
  I(i: number): string;
  O(i: number): string;
  GO(i: number): string;
  needs(i: number): boolean;
  shape(value: string): Shape;
  attr<T>(name: string, fallback: T): T;
  /** Sums `grad` over the axes along which input i was broadcast, and reshapes it to input i's shape. */
  unbroadcast(grad: string, i: number): string;
}

/** One gradient per forward input; undefined where the input is not differentiable or not needed. */
export type GradRule = (c: GradContext) => (string | undefined)[];

export function makeContext(g: GraphBuilder, node: NodeSpec, shapes: ShapeTable, gradOut: (i: number) => string, needs: (i: number) => boolean): GradContext {
  const ctx: GradContext = {
    g,
    node,
    I: (i) => node.inputs[i],
    O: (i) => node.outputs[i],
    GO: gradOut,
    needs,
    shape: (v) => shapes.get(v),
    attr: <T>(name: string, fallback: T): T => ((node.attrs?.[name] as T | undefined) ?? fallback),
    unbroadcast(grad, i) {
      const out = shapes.get(node.outputs[0]);
      const inp = shapes.get(node.inputs[i]);
      const lead = out.length - inp.length;
      const axes: number[] = [];
      for (let k = 0; k < out.length; k++) {
        const d = k < lead ? undefined : inp[k - lead];
        if (d === undefined || (d === 1 && out[k] !== 1)) axes.push(k);
      }
      if (axes.length === 0) return grad;
      const summed = g.node('ReduceSum', [grad, g.int64(axes)], { keepdims: 1 });
      return g.node('Reshape', [summed, g.node('Shape', [node.inputs[i]])]);
    },
  };
  return ctx;
}
