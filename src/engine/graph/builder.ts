import type { Tensor } from '../tensor/tensor';
import type { AttrValue, DataTypeName, GraphSpec, NodeSpec, TensorValue, ValueSpec } from './proto';
import { rawBytes } from './proto';

/**
 * Collects ONNX nodes, initializers, inputs and outputs. Values are plain strings: canonical
 * activation names (ActName) where a value is fetchable, generated `n{k}.{op}` names otherwise.
 * The builder holds no ORT state; `build()` gives a GraphSpec that proto.ts serializes.
 */
export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly inits: TensorValue[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private readonly constCache = new Map<string, string>();
  /** int64 constants by name, so shape inference and gradient rules can read Reshape targets and axes. */
  private readonly intValues = new Map<string, readonly number[]>();
  /** Weights declared as graph inputs (trainable), with the values to feed by default. */
  readonly weightFeeds = new Map<string, Tensor>();
  private counter = 0;

  /**
   * `trainable(name)` true: `weight(name, t)` becomes a graph input fed each run (its value changes
   * between optimizer steps); false (default): a constant initializer that ORT prepacks.
   */
  constructor(
    readonly name: string,
    private readonly trainable: (weight: string) => boolean = () => false,
  ) {}

  input(name: string, dims: readonly (number | string)[], dataType: DataTypeName = 'float'): string {
    // Declared once: blocks of one graph share inputs such as past.repeat (autodiff/objective.ts with past keys/values).
    if (this.inputs.some((i) => i.name === name)) return name;
    this.inputs.push({ name, dims, dataType });
    return name;
  }

  output(name: string, dims: readonly (number | string)[], dataType: DataTypeName = 'float'): void {
    this.outputs.push({ name, dims, dataType });
  }

  /** A float32 weight baked into the graph (ORT prepacks constant initializers). */
  weight(name: string, t: Tensor): string {
    if (this.weightFeeds.has(name) || this.inits.some((i) => i.name === name)) return name;
    if (this.trainable(name)) {
      this.inputs.push({ name, dims: t.shape, dataType: 'float' });
      this.weightFeeds.set(name, t);
    } else {
      this.inits.push({ name, dataType: 'float', dims: t.shape, raw: rawBytes(t.data) });
    }
    return name;
  }

  /** An int64 constant (shapes, axes, indices); identical constants share one initializer. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = `const.${this.constCache.size}`;
    this.inits.push({ name, dataType: 'int64', dims, raw: rawBytes(BigInt64Array.from(values, BigInt)) });
    this.constCache.set(key, name);
    this.intValues.set(name, values);
    return name;
  }

  /** A float32 constant tensor (default: a scalar). */
  float(values: readonly number[] | Float32Array, dims: readonly number[] = []): string {
    const arr = values instanceof Float32Array ? values : Float32Array.from(values);
    const key = arr.length <= 16 ? `f32:${dims.join('x')}:${Array.from(arr).join(',')}` : undefined;
    const hit = key ? this.constCache.get(key) : undefined;
    if (hit) return hit;
    const name = `const.${this.constCache.size}.f`;
    this.inits.push({ name, dataType: 'float', dims, raw: rawBytes(arr) });
    this.constCache.set(key ?? name, name);
    return name;
  }

  /** Appends a node with one output; `out` names it (an ActName when fetchable). */
  node(opType: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, out?: string): string {
    const id = this.counter++;
    const output = out ?? `n${id}.${opType}`;
    this.nodes.push({ opType, inputs, outputs: [output], name: `node${id}_${opType}`, attrs });
    return output;
  }

  /** Renames a value by routing it through Identity, so it can carry a canonical name. */
  alias(value: string, name: string): string {
    return this.node('Identity', [value], undefined, name);
  }

  /** The values of an int64 constant made by `int64`, or undefined for anything else. */
  intConstant(name: string): readonly number[] | undefined {
    return this.intValues.get(name);
  }

  /** Nodes so far, in emission (topological) order. */
  get nodeList(): readonly NodeSpec[] {
    return this.nodes;
  }

  get inputList(): readonly ValueSpec[] {
    return this.inputs;
  }

  get initializerList(): readonly TensorValue[] {
    return this.inits;
  }

  /** Appends a node with several outputs. */
  multi(opType: string, inputs: readonly string[], nOutputs: number, attrs?: Record<string, AttrValue>): string[] {
    const id = this.counter++;
    const outputs = Array.from({ length: nOutputs }, (_, i) => `n${id}.${opType}.${i}`);
    this.nodes.push({ opType, inputs, outputs, name: `node${id}_${opType}`, attrs });
    return outputs;
  }

  build(): GraphSpec {
    return { name: this.name, nodes: this.nodes, initializers: this.inits, inputs: this.inputs, outputs: this.outputs };
  }
}
