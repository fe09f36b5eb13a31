import type { GraphBuilder } from '../graph/builder';
import type { NodeSpec } from '../graph/proto';

/** A dimension: a number, a symbol from a graph input ('batch', 'pos'), or '?' when unknown. */
export type Dim = number | string;
export type Shape = readonly Dim[];

/**
 * Symbolic shape inference over the op set the engine emits. Gradient rules need ranks and which
 * dims are 1 (to undo broadcasting), not sizes: a '?' dim is treated as "not 1".
 */
export class ShapeTable {
  private readonly shapes = new Map<string, Shape>();

  constructor(private readonly g: GraphBuilder) {
    for (const v of g.inputList) this.shapes.set(v.name, v.dims);
    for (const t of g.initializerList) if (t.name) this.shapes.set(t.name, t.dims);
    for (const n of g.nodeList) this.infer(n);
  }

  get(value: string): Shape {
    const s = this.shapes.get(value);
    if (!s) throw new Error(`autodiff: no shape known for value ${value}`);
    return s;
  }

  /** Infers and records the output shapes of a node appended after construction. */
  infer(n: NodeSpec): void {
    const out = inferNode(n, (v) => this.get(v), (v) => this.g.intConstant(v));
    n.outputs.forEach((o, i) => this.shapes.set(o, out[i] ?? ['?']));
  }
}

/** numpy broadcasting of two shapes. */
export function broadcast(a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    out.push(x === 1 ? y : y === 1 ? x : x === '?' ? y : x);
  }
  return out;
}

const UNARY = new Set(['Identity', 'Neg', 'Exp', 'Log', 'Tanh', 'Sqrt', 'Reciprocal', 'Sigmoid', 'Gelu', 'Softmax', 'LogSoftmax', 'LayerNormalization', 'Cast', 'Relu']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Equal', 'Less', 'Greater']);

const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

function inferNode(n: NodeSpec, shape: (v: string) => Shape, ints: (v: string) => readonly number[] | undefined): Shape[] {
  const a = n.attrs ?? {};
  const x = (): Shape => shape(n.inputs[0]);
  if (UNARY.has(n.opType)) return [x()];
  if (BINARY.has(n.opType)) return [broadcast(x(), shape(n.inputs[1]))];
  switch (n.opType) {
    case 'Where':
      return [broadcast(broadcast(x(), shape(n.inputs[1])), shape(n.inputs[2]))];
    case 'MatMul': {
      const [l, r] = [x(), shape(n.inputs[1])];
      const batch = broadcast(l.slice(0, -2), r.slice(0, -2));
      return [[...batch, l[l.length - 2], r[r.length - 1]]];
    }
    case 'Gemm': {
      const [l, r] = [x(), shape(n.inputs[1])];
      return [[a['transA'] ? l[1] : l[0], a['transB'] ? r[0] : r[1]]];
    }
    case 'Transpose': {
      const perm = a['perm'] as number[];
      return [perm.map((p) => x()[p])];
    }
    case 'Reshape': {
      const target = ints(n.inputs[1]);
      if (!target) return [['?']];
      return [target.map((d, i) => (d === 0 ? x()[i] : d === -1 ? '?' : d))];
    }
    case 'Gather': {
      const axis = norm((a['axis'] as number) ?? 0, x().length);
      return [[...x().slice(0, axis), ...shape(n.inputs[1]), ...x().slice(axis + 1)]];
    }
    case 'GatherElements':
      return [shape(n.inputs[1])];
    case 'Concat': {
      // The concatenated axis is the sum of the inputs' (unknown when one is symbolic); other axes as input 0.
      const axis = norm((a['axis'] as number) ?? 0, x().length);
      const sizes = n.inputs.map((i) => shape(i)[axis]);
      const total = sizes.every((d) => typeof d === 'number') ? (sizes as number[]).reduce((s, d) => s + d, 0) : '?';
      return [x().map((d, i) => (i === axis ? total : d))];
    }
    case 'Tile':
      // Repeats are fed at run time (past.repeat): same rank, every axis may grow.
      return [x().map(() => '?')];
    case 'ScatterND':
    case 'ScatterElements':
      return [x()];
    case 'ReduceSum':
    case 'ReduceMean':
    case 'ReduceMax': {
      const axes = (n.inputs[1] ? ints(n.inputs[1]) : undefined)?.map((ax) => norm(ax, x().length));
      const keep = (a['keepdims'] as number | undefined) ?? 1;
      if (!axes) return [keep ? x().map(() => 1) : []];
      return [x().flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]))];
    }
    case 'Unsqueeze': {
      const axes = ints(n.inputs[1]) ?? [];
      const rank = x().length + axes.length;
      const out: Dim[] = [];
      const rest = [...x()];
      for (let i = 0; i < rank; i++) out.push(axes.map((ax) => norm(ax, rank)).includes(i) ? 1 : (rest.shift() as Dim));
      return [out];
    }
    case 'Squeeze': {
      const axes = (ints(n.inputs[1]) ?? []).map((ax) => norm(ax, x().length));
      return [x().filter((_, i) => !axes.includes(i))];
    }
    case 'Shape':
      return [[x().length]];
    case 'ConstantOfShape':
    case 'Expand': {
      const target = ints(n.inputs[n.opType === 'Expand' ? 1 : 0]);
      const base = target ? target.map((d) => d) : ['?'];
      return [n.opType === 'Expand' ? broadcast(x(), base) : base];
    }
    default:
      return [['?']];
  }
}
