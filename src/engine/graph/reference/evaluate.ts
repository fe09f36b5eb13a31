/**
 * A float64 reference evaluator for the engine's ONNX graphs: one small function per op (ONNX opset 20
 * semantics), nodes run in the order given. It exists to check gradients against central finite
 * differences in float64 and to cross-check ORT, so it favours clarity over speed: plain loops, no
 * fusion, no in-place updates.
 *
 * Invariants: ops never mutate their inputs (values may share buffers); nodes are in topological
 * order, which GraphBuilder guarantees by construction; only nodes that some requested output
 * depends on are run.
 */
import type { GraphSpec, ValueSpec } from '../proto';
import { OpArgs } from './args';
import type { OpImpl } from './args';
import type { RefValue } from './ndarray';
import { decodeTensor, fmtShape, isFloat, numel } from './ndarray';
import { ELEMENTWISE_OPS } from './opsElementwise';
import { INDEX_OPS } from './opsIndex';
import { NN_OPS } from './opsNn';
import { REDUCE_OPS } from './opsReduce';
import { SHAPE_OPS } from './opsShape';

export type { FloatValue, IntValue, RefValue } from './ndarray';
export { floatValue, intValue, isFloat } from './ndarray';

/**
 * A value fed to the evaluator. Float data may be float32 (widened exactly) or float64; integer data
 * may be JS numbers or a BigInt64Array (as the engine's id tensors are).
 */
export type RefFeed =
  | { readonly shape: readonly number[]; readonly data: Float64Array | Float32Array }
  | { readonly shape: readonly number[]; readonly ints: readonly number[] | BigInt64Array };

const OPS: Readonly<Record<string, OpImpl>> = { ...ELEMENTWISE_OPS, ...NN_OPS, ...REDUCE_OPS, ...SHAPE_OPS, ...INDEX_OPS };

/** The op types evaluateGraph implements. */
export const REFERENCE_OPS: readonly string[] = Object.keys(OPS).sort();

function toValue(name: string, f: RefFeed): RefValue {
  const n = 'data' in f ? f.data.length : f.ints.length;
  if (n !== numel(f.shape)) throw new Error(`feed ${name}: ${n} values for shape ${fmtShape(f.shape)}`);
  // Copied, so no result ever aliases a caller's buffer (finite differences perturb feeds in place).
  if ('data' in f) return { shape: [...f.shape], data: Float64Array.from(f.data) };
  return { shape: [...f.shape], ints: f.ints instanceof BigInt64Array ? Array.from(f.ints, Number) : [...f.ints] };
}

/** Checks a feed against its declared input: kind, rank, fixed dims, and symbolic dims used consistently. */
function checkFeed(spec: ValueSpec, v: RefValue, symbols: Map<string, number>): void {
  const wantFloat = spec.dataType === 'float' || spec.dataType === 'double';
  if (wantFloat !== isFloat(v)) throw new Error(`feed ${spec.name}: expected ${spec.dataType} values`);
  const bad = (): never => {
    throw new Error(`feed ${spec.name}: shape ${fmtShape(v.shape)} does not match [${spec.dims.join(', ')}]`);
  };
  if (spec.dims.length !== v.shape.length) bad();
  spec.dims.forEach((d, i) => {
    if (typeof d === 'number') {
      if (d !== v.shape[i]) bad();
    } else if ((symbols.get(d) ?? v.shape[i]) !== v.shape[i]) {
      throw new Error(`feed ${spec.name}: dimension ${d} is ${v.shape[i]} here but ${symbols.get(d)} in another input`);
    } else {
      symbols.set(d, v.shape[i]);
    }
  });
}

/**
 * Evaluates `graph` in float64 and returns the requested values (default: the graph's outputs). Any
 * value name may be requested, intermediate ones included. Feeds must cover every graph input that
 * the requested values depend on; a feed named like an initializer replaces it (how finite differences
 * perturb weights).
 */
export function evaluateGraph(graph: GraphSpec, feeds: Readonly<Record<string, RefFeed>>, outputs?: readonly string[]): Record<string, RefValue> {
  const wanted = outputs ?? graph.outputs.map((o) => o.name);
  const env = new Map<string, RefValue>();
  const inits = new Set(graph.initializers.map((t) => t.name));
  const inputs = new Map(graph.inputs.map((i) => [i.name, i]));
  for (const name of Object.keys(feeds)) {
    if (!inputs.has(name) && !inits.has(name)) throw new Error(`feed ${name} is neither an input nor an initializer of graph ${graph.name}`);
  }

  // Liveness, backwards: a node runs only if something requested depends on it.
  const needed = new Set(wanted);
  const live = graph.nodes.map(() => false);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (!node.outputs.some((o) => needed.has(o))) continue;
    live[i] = true;
    for (const inp of node.inputs) if (inp) needed.add(inp);
  }

  for (const t of graph.initializers) {
    const name = t.name;
    if (!name) continue; // unnamed tensors only occur as attributes, never as initializers
    const f = feeds[name];
    if (f) {
      // A replacement must look like the initializer it replaces.
      const v = toValue(name, f);
      checkFeed({ name, dataType: t.dataType, dims: t.dims }, v, new Map());
      env.set(name, v);
    } else if (needed.has(name)) {
      env.set(name, decodeTensor(t));
    }
  }
  const symbols = new Map<string, number>();
  for (const spec of graph.inputs) {
    const f = feeds[spec.name];
    if (!f) {
      if (needed.has(spec.name) && !env.has(spec.name)) throw new Error(`graph ${graph.name}: input ${spec.name} was not fed`);
      continue;
    }
    const v = toValue(spec.name, f);
    checkFeed(spec, v, symbols);
    env.set(spec.name, v);
  }

  graph.nodes.forEach((node, i) => {
    if (!live[i]) return;
    const impl = OPS[node.opType];
    if (!impl) throw new Error(`no reference implementation for op ${node.opType}`);
    const args = new OpArgs(
      node,
      node.inputs.map((n) => {
        if (n === '') return undefined; // an omitted optional input
        const v = env.get(n);
        if (!v) throw new Error(`${node.opType} node ${node.name}: input ${n} is not computed before it (graph not in topological order?)`);
        return v;
      }),
    );
    const results = impl(args);
    node.outputs.forEach((o, k) => {
      if (!o) return;
      const r = results[k];
      if (!r) throw new Error(`${node.opType} node ${node.name}: the reference computes no output ${k}`);
      env.set(o, r);
    });
  });

  const out: Record<string, RefValue> = {};
  for (const name of wanted) {
    const v = env.get(name);
    if (!v) throw new Error(`graph ${graph.name} has no value ${name}`);
    out[name] = v;
  }
  return out;
}
