/**
 * What an op implementation sees of its node: typed access to inputs and attributes, with errors that
 * name the node. Attribute defaults follow the ONNX opset 20 operator spec and are given by each op.
 */
import type { AttrValue, NodeSpec, TensorValue } from '../proto';
import type { FloatValue, IntValue, RefValue } from './ndarray';
import { isFloat } from './ndarray';

export class OpArgs {
  constructor(
    readonly node: NodeSpec,
    /** Positional inputs; undefined where the node leaves an optional input empty ('') or omits it. */
    readonly inputs: readonly (RefValue | undefined)[],
  ) {}

  fail(message: string): never {
    throw new Error(`${this.node.opType} node ${this.node.name}: ${message}`);
  }

  get count(): number {
    return this.inputs.length;
  }

  optional(i: number): RefValue | undefined {
    return this.inputs[i];
  }

  input(i: number): RefValue {
    return this.inputs[i] ?? this.fail(`missing input ${i}`);
  }

  float(i: number): FloatValue {
    const v = this.input(i);
    return isFloat(v) ? v : this.fail(`input ${i} must be a float tensor`);
  }

  int(i: number): IntValue {
    const v = this.input(i);
    return isFloat(v) ? this.fail(`input ${i} must be an integer tensor`) : v;
  }

  /** A 1-D (or scalar) integer input as a list, e.g. axes, shape, starts; undefined when absent. */
  intList(i: number): number[] | undefined {
    const v = this.optional(i);
    if (!v) return undefined;
    if (isFloat(v) || v.shape.length > 1) this.fail(`input ${i} must be a 1-D integer tensor`);
    return [...v.ints];
  }

  /** A scalar (or one-element) input of either kind, e.g. Clip's bounds. */
  scalar(i: number): number | undefined {
    const v = this.optional(i);
    if (!v) return undefined;
    const vals = isFloat(v) ? v.data : v.ints;
    if (vals.length !== 1) this.fail(`input ${i} must hold one value`);
    return vals[0];
  }

  private attr(name: string): AttrValue | undefined {
    return this.node.attrs?.[name];
  }

  attrInt(name: string, dflt: number): number {
    const a = this.attr(name);
    if (a === undefined) return dflt;
    return typeof a === 'number' ? a : this.fail(`attribute ${name} must be an int`);
  }

  /**
   * A float attribute. The model file stores it as float32, so the graph's meaning is fround(x); a bare
   * number (written as an int) is accepted too.
   */
  attrFloat(name: string, dflt: number): number {
    const a = this.attr(name);
    if (a === undefined) return dflt;
    if (typeof a === 'number') return a;
    if (typeof a === 'object' && 'float' in a) return Math.fround(a.float);
    return this.fail(`attribute ${name} must be a float`);
  }

  attrString(name: string, dflt: string): string {
    const a = this.attr(name);
    if (a === undefined) return dflt;
    return typeof a === 'string' ? a : this.fail(`attribute ${name} must be a string`);
  }

  attrInts(name: string): number[] | undefined {
    const a = this.attr(name);
    if (a === undefined) return undefined;
    if (Array.isArray(a)) return [...a];
    if (typeof a === 'object' && 'ints' in a) return [...a.ints];
    return this.fail(`attribute ${name} must be a list of ints`);
  }

  attrTensor(name: string): TensorValue | undefined {
    const a = this.attr(name);
    if (a === undefined) return undefined;
    if (typeof a === 'object' && !Array.isArray(a) && 'raw' in a) return a;
    return this.fail(`attribute ${name} must be a tensor`);
  }
}

/** One op: values in, values out (one per node output, in order). */
export type OpImpl = (args: OpArgs) => RefValue[];
