import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { adamStep, clipGradNorm, newAdamState, projectLinf } from '../../../src/engine/optim/adam';

test('Adam: the first steps equal the closed form (bias-corrected m/√v ≈ sign(g))', () => {
  const p = new Map([['w', Float32Array.from([1, -2, 0.5])]]);
  const g = new Map([['w', Float32Array.from([0.1, -0.4, 0])]]);
  const state = newAdamState();
  adamStep(p, g, state, { lr: 0.01 });
  // step 1: m̂ = g, v̂ = g², update = g/(|g| + 1e-8) → 0.01·sign(g); a zero gradient does not move.
  assert.deepEqual(Array.from(p.get('w')!, (x) => +x.toFixed(6)), [0.99, -1.99, 0.5]);
  adamStep(p, g, state, { lr: 0.01 });
  assert.deepEqual(Array.from(p.get('w')!, (x) => +x.toFixed(6)), [0.98, -1.98, 0.5]);
  assert.equal(state.step, 2);
});

test('Adam: L2 (torch) vs decoupled (AdamW) weight decay, and the decay mask', () => {
  const run = (decoupled: boolean, decays?: (n: string) => boolean) => {
    const p = new Map([['w', Float32Array.from([2])], ['b', Float32Array.from([2])]]);
    const g = new Map([['w', Float32Array.from([0])], ['b', Float32Array.from([0])]]);
    adamStep(p, g, newAdamState(), { lr: 0.1, weightDecay: 0.5, decoupled, decays });
    return [p.get('w')![0], p.get('b')![0]];
  };
  // L2: gradient becomes 0.5·2 = 1, Adam normalizes it → a step of lr = 0.1.
  assert.ok(Math.abs(run(false)[0] - 1.9) < 1e-6);
  // AdamW: the Adam part is 0 (g = 0), decay moves by lr·wd·p = 0.1.
  assert.ok(Math.abs(run(true)[0] - 1.9) < 1e-6);
  assert.deepEqual(run(true, (n) => n === 'w').map((x) => +x.toFixed(6)), [1.9, 2]);
});

test('gradient clipping scales to the global norm and reports the norm before', () => {
  const g = new Map([['a', Float32Array.from([3, 0])], ['b', Float32Array.from([4])]]);
  assert.equal(clipGradNorm(g, 1), 5);
  assert.deepEqual(Array.from(g.get('a')!, (x) => +x.toFixed(6)), [0.6, 0]);
  assert.deepEqual(Array.from(g.get('b')!, (x) => +x.toFixed(6)), [0.8]);
  assert.ok(Math.abs(clipGradNorm(g, 10) - 1) < 1e-6, 'float32 gradients after clipping have norm 1');
});

test('L∞ projection keeps every element within radius of the origin', () => {
  const origin = Float32Array.from([0, 1, -1]);
  const p = Float32Array.from([0.2, 0.95, -3]);
  projectLinf(p, origin, 0.1);
  assert.deepEqual(Array.from(p, (x) => +x.toFixed(6)), [0.1, 0.95, -1.1]);
});
