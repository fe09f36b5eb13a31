import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadSequenceState, pruneSequenceStates, saveSequenceState } from '../../src/engine/methods/sequential/sequenceState';

/** A sequential run's saved method state (AlphaEdit's P and key cache) comes back bit for bit. */
test('a state of Maps, typed arrays and numbers round-trips bit for bit; older states are pruned', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locus-seqstate-'));
  try {
    const P = Float64Array.from({ length: 9 }, (_, i) => Math.sin(i) / 3 + 1e-300 * i);
    const state = new Map<string, unknown>([['alphaedit', {
      layers: [0, 1], threshold: 0.02, batches: 3,
      projections: new Map([[0, { layer: 0, threshold: 0.02, P, rank: 2, singularValues: Float64Array.of(3, 2, -0) }]]),
      cacheC: new Map([[1, Float64Array.of(Math.PI, -Infinity, Number.MIN_VALUE)]]),
      f32: Float32Array.of(0.1, 7), none: undefined, nan: NaN,
    }]]);
    saveSequenceState(dir, 4, state, 'alphaedit');
    saveSequenceState(dir, 5, state, 'alphaedit');
    pruneSequenceStates(dir, 5);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sequence')), ['000005.bin']);
    const back = loadSequenceState(dir, 5)!.get('alphaedit') as Record<string, unknown>;
    const orig = state.get('alphaedit') as Record<string, unknown>;
    assert.deepEqual(back, orig);
    const bits = (a: Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
    assert.equal(bits((back.projections as Map<number, { P: Float64Array }>).get(0)!.P), bits(P));
    assert.ok(Object.is(((back.projections as Map<number, { singularValues: Float64Array }>).get(0)!.singularValues)[2], -0));
    assert.equal(loadSequenceState(dir, 4), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a state holding a class instance is refused with one line naming the method', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'locus-seqstate-'));
  try {
    class Solver {}
    assert.throws(() => saveSequenceState(dir, 0, new Map([['x', new Solver()]]), 'emmet'), /emmet keeps state between batches that cannot be saved \(Solver\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
