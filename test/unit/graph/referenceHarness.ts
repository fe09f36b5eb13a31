/**
 * Single-node conformance harness for the float64 reference evaluator: builds a one-op graph, runs it
 * through evaluateGraph and through onnxruntime-node, and compares. Integer and bool results come back
 * through a Cast to float appended to the graph (RuntimeSession returns float32 only); bool inputs go in
 * as int64 and are Cast to bool inside the graph, so both evaluators see the identical graph.
 */
import * as assert from 'node:assert/strict';
import { evaluateGraph, isFloat } from '../../../src/engine/graph/reference/evaluate';
import type { RefFeed, RefValue } from '../../../src/engine/graph/reference/evaluate';
import { GraphBuilder } from '../../../src/engine/graph/builder';
import { encodeModel } from '../../../src/engine/graph/proto';
import type { AttrValue, GraphSpec, NodeSpec } from '../../../src/engine/graph/proto';
import { RuntimeSession } from '../../../src/engine/runtime/ort';
import { seededRandom } from '../../../src/engine/train/rng';
import type { Feed } from '../../../src/engine/runtime/ort';

/** A small deterministic PRNG (the engine's mulberry32), so failures reproduce. */
export const rng = seededRandom;

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export interface In {
  readonly shape: readonly number[];
  /** float (default), int64, or bool (fed as int64 0/1, Cast to bool in the graph). */
  readonly kind?: 'float' | 'int64' | 'bool';
  /** Explicit values; otherwise uniform in [lo, hi) (floats) or integers in [lo, hi) (int64/bool). */
  readonly values?: readonly number[];
  readonly lo?: number;
  readonly hi?: number;
  /** Bake as an initializer instead of a graph input (axes, shapes, indices). Not for bool. */
  readonly constant?: boolean;
  /** Leave this optional input empty (''). */
  readonly absent?: boolean;
}

export interface Case {
  readonly op: string;
  readonly inputs: readonly In[];
  readonly attrs?: Record<string, AttrValue>;
  /** Number of node outputs (default 1). */
  readonly outputs?: number;
  /** Relative-ish tolerance: |ref - ort| ≤ tol·max(1, |ref|). ORT computes in float32. */
  readonly tol?: number;
  readonly seed?: number;
}

function valuesFor(spec: In, next: () => number): number[] {
  if (spec.values) return [...spec.values];
  const kind = spec.kind ?? 'float';
  const lo = spec.lo ?? (kind === 'bool' ? 0 : -2);
  const hi = spec.hi ?? (kind === 'bool' ? 2 : 2);
  return Array.from({ length: size(spec.shape) }, () => {
    const u = lo + (hi - lo) * next();
    return kind === 'float' ? Math.fround(u) : Math.floor(u);
  });
}

/** Builds the case's graph and feeds; the node's outputs are `y0`, `y1`, …. */
function buildCase(c: Case): { graph: GraphSpec; feeds: Record<string, RefFeed>; ortFeeds: Record<string, Feed>; outs: string[] } {
  const next = rng(c.seed ?? 1);
  const g = new GraphBuilder(`ref.${c.op}`);
  const nodes: NodeSpec[] = [];
  const feeds: Record<string, RefFeed> = {};
  const ortFeeds: Record<string, Feed> = {};
  const names = c.inputs.map((spec, i) => {
    if (spec.absent) return '';
    const vals = valuesFor(spec, next);
    const kind = spec.kind ?? 'float';
    if (spec.constant) return kind === 'float' ? g.float(vals, spec.shape) : g.int64(vals, spec.shape);
    const name = g.input(`x${i}`, spec.shape, kind === 'float' ? 'float' : 'int64');
    if (kind === 'float') {
      const data = Float32Array.from(vals);
      feeds[name] = { shape: spec.shape, data };
      ortFeeds[name] = { shape: spec.shape, data };
    } else {
      const ids = BigInt64Array.from(vals, BigInt);
      feeds[name] = { shape: spec.shape, ints: ids };
      ortFeeds[name] = { shape: spec.shape, ids };
    }
    if (kind !== 'bool') return name;
    nodes.push({ opType: 'Cast', inputs: [name], outputs: [`${name}.bool`], name: `cast_${name}`, attrs: { to: 9 } });
    return `${name}.bool`;
  });
  const raw = Array.from({ length: c.outputs ?? 1 }, (_, k) => `y${k}`);
  nodes.push({ opType: c.op, inputs: names, outputs: raw, name: 'under_test', attrs: c.attrs });
  const base = g.build();
  return { graph: { ...base, nodes }, feeds, ortFeeds, outs: raw };
}

/**
 * Runs `c` through both evaluators and asserts agreement, shapes included. Returns the reference's
 * raw (pre-Cast) outputs for extra assertions.
 */
export async function checkOp(c: Case): Promise<Record<string, RefValue>> {
  const { graph, feeds, ortFeeds, outs } = buildCase(c);
  const raw = evaluateGraph(graph, feeds, outs);
  // Integer/bool outputs travel to ORT's float32-only door through a Cast.
  const nodes = [...graph.nodes];
  const fetch = outs.map((o) => {
    if (isFloat(raw[o])) return o;
    nodes.push({ opType: 'Cast', inputs: [o], outputs: [`${o}.f`], name: `cast_${o}`, attrs: { to: 1 } });
    return `${o}.f`;
  });
  const ref = evaluateGraph({ ...graph, nodes }, feeds, fetch);
  const full: GraphSpec = { ...graph, nodes, outputs: fetch.map((name) => ({ name, dataType: 'float' as const, dims: ref[name].shape })) };
  const session = await RuntimeSession.create(full.name, encodeModel(full, 20), { threads: 1 });
  try {
    const got = await session.run(ortFeeds, fetch);
    const tol = c.tol ?? 1e-5;
    for (const name of fetch) {
      const r = ref[name];
      assert.ok(isFloat(r));
      const what = `${c.op} ${JSON.stringify(c.attrs ?? {})} inputs ${c.inputs.map((i) => `[${i.shape}]`).join(',')} → ${name}`;
      assert.deepEqual(got[name].shape, [...r.shape], `${what}: shape`);
      for (let i = 0; i < r.data.length; i++) {
        const d = Math.abs(r.data[i] - got[name].data[i]);
        if (!(d <= tol * Math.max(1, Math.abs(r.data[i])))) {
          assert.fail(`${what}: element ${i}: reference ${r.data[i]}, ORT ${got[name].data[i]}`);
        }
      }
    }
  } finally {
    await session.release();
  }
  return raw;
}

/** Runs every case (sequentially: ORT sessions are cheap but not free). */
export async function checkAll(cases: readonly Case[]): Promise<void> {
  for (const c of cases) await checkOp(c);
}
