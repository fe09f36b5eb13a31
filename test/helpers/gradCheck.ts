import * as assert from 'node:assert/strict';
import { appendGradients, gradName } from '../../src/engine/autodiff/backward';
import { GraphBuilder } from '../../src/engine/graph/builder';
import { encodeModel } from '../../src/engine/graph/proto';
import { evaluateGraph } from '../../src/engine/graph/reference/evaluate';
import type { RefFeed } from '../../src/engine/graph/reference/evaluate';
import { RuntimeSession } from '../../src/engine/runtime/ort';
import type { Feed } from '../../src/engine/runtime/ort';

/** Deterministic values in [-1, 1) (or [lo, hi)) for test inputs. */
export function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed * 2654435761 + 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
    return lo + ((s >>> 8) / 16777216) * (hi - lo);
  });
}

export interface GradCase {
  /** Float inputs to differentiate, and other (integer or constant) inputs. */
  readonly wrt: Record<string, { shape: number[]; data: Float32Array }>;
  readonly constants?: Record<string, Feed & RefFeed>;
  /** Weights the build reads through g.weight(name, …): declared trainable, so they are differentiated too. */
  readonly params?: Record<string, { shape: number[]; data: Float32Array }>;
  /** Emits the function; returns the value to reduce. The scalar loss is Σ y·R with fixed random R. */
  readonly build: (g: GraphBuilder, inputs: Record<string, string>) => string;
  /** Central-difference step (float64 evaluation). */
  readonly h?: number;
  /** At most this many elements of each wrt are checked (evenly spaced). */
  readonly sample?: number;
  /** |analytic − numeric| ≤ tol · max(1, max |numeric|), per wrt. */
  readonly tol?: number;
}

/**
 * Checks the emitted gradient graph (run by onnxruntime in float32) against central finite
 * differences of the forward graph evaluated in float64 by the reference evaluator.
 */
export async function checkGradients(c: GradCase): Promise<void> {
  const params = c.params ?? {};
  const g = new GraphBuilder('gradcheck', (n) => n in params);
  const inputs: Record<string, string> = {};
  for (const [name, t] of Object.entries(c.wrt)) inputs[name] = g.input(name, t.shape);
  for (const [name, t] of Object.entries(c.constants ?? {})) inputs[name] = g.input(name, t.shape, 'ids' in t ? 'int64' : 'float');
  const y = c.build(g, inputs);
  const rName = 'loss_weights';
  g.input(rName, ['?']);
  const loss = g.node('ReduceSum', [g.node('Mul', [g.node('Reshape', [y, g.int64([-1])]), rName])], { keepdims: 0 }, 'loss');
  g.output(loss, []);
  const all = { ...c.wrt, ...params };
  const wrtNames = Object.keys(all);
  const forwardOnly = g.build();
  appendGradients(g, loss, wrtNames);
  for (const n of wrtNames) g.output(gradName(n), all[n].shape);
  const spec = g.build();

  // R's length = numel(y): evaluate y once to learn it.
  const refFeeds: Record<string, RefFeed> = { ...(c.constants ?? {}) };
  for (const [n, t] of Object.entries(all)) refFeeds[n] = t;
  const probe = evaluateGraph({ ...forwardOnly, outputs: [{ name: y, dataType: 'float', dims: [] }] }, { ...refFeeds, [rName]: { shape: [1], data: new Float64Array(1) } }, [y]);
  const ny = probe[y].shape.reduce((a, b) => a * b, 1);
  const R = { shape: [ny], data: values(ny, 977) };
  refFeeds[rName] = R;

  const session = await RuntimeSession.create('gradcheck', encodeModel(spec, 20), { threads: 1 });
  try {
    const ortFeeds: Record<string, Feed> = { ...(c.constants ?? {}), [rName]: R };
    for (const [n, t] of Object.entries(all)) ortFeeds[n] = t;
    const out = await session.run(ortFeeds, wrtNames.map(gradName));
    const lossAt = (name: string, data: Float64Array): number => {
      const v = evaluateGraph(forwardOnly, { ...refFeeds, [name]: { shape: all[name].shape, data } }, ['loss']).loss;
      return 'data' in v ? v.data[0] : NaN;
    };
    const h = c.h ?? 1e-5;
    for (const name of wrtNames) {
      const base = Float64Array.from(all[name].data);
      const n = base.length;
      const step = Math.max(1, Math.floor(n / (c.sample ?? 64)));
      let worst = 0;
      let scale = 0;
      let at = -1;
      for (let i = 0; i < n; i += step) {
        const plus = base.slice();
        plus[i] += h;
        const minus = base.slice();
        minus[i] -= h;
        const numeric = (lossAt(name, plus) - lossAt(name, minus)) / (2 * h);
        const analytic = out[gradName(name)].data[i];
        scale = Math.max(scale, Math.abs(numeric));
        if (Math.abs(analytic - numeric) > worst) {
          worst = Math.abs(analytic - numeric);
          at = i;
        }
      }
      const tol = (c.tol ?? 1e-3) * Math.max(1, scale);
      assert.ok(worst <= tol, `d loss / d ${name}: worst |analytic − numeric| ${worst.toExponential(3)} at ${at} > ${tol.toExponential(3)} (max |numeric| ${scale.toFixed(4)})`);
    }
  } finally {
    await session.release();
  }
}
