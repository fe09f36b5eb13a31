import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { RandomState } from '../../../src/engine/methods/causalTrace/randomState';
import { golden } from '../../helpers/paths';

// Reference values produced by NumPy 2.4.6 (legacy RandomState) and hard-coded here.

test('MT19937 seeded 5489 yields the classic reference outputs', () => {
  const rs = new RandomState(5489);
  const got = Array.from({ length: 5 }, () => rs.nextUint32());
  assert.deepEqual(got, [3499211612, 581869302, 3890346734, 3586334585, 545404204]);
});

test('RandomState(42).rand(3) via randomSample', () => {
  const rs = new RandomState(42);
  assert.deepEqual([rs.randomSample(), rs.randomSample(), rs.randomSample()], [
    0.3745401188473625, 0.9507143064099162, 0.7319939418114051,
  ]);
});

test('RandomState(0).randn(5) and RandomState(1).randn(3)', () => {
  assert.deepEqual(Array.from(new RandomState(0).randn(5)), [
    1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458,
    1.8675579901499675,
  ]);
  assert.deepEqual(Array.from(new RandomState(1).randn(3)), [
    1.6243453636632417, -0.6117564136500754, -0.5281717522634557,
  ]);
});

test('largest seed 2**32 - 1 and out-of-range seeds', () => {
  assert.deepEqual(Array.from(new RandomState(0xffffffff).randn(3)), [
    0.6484086742306527, 0.6693235306338161, -1.0805437227474493,
  ]);
  assert.throws(() => new RandomState(-1), RangeError);
  assert.throws(() => new RandomState(2 ** 32), RangeError);
  assert.throws(() => new RandomState(1.5), RangeError);
});

test('the cached gauss value carries across randn calls', () => {
  const split = new RandomState(0);
  const joined = [...split.randn(3), ...split.randn(2)];
  assert.deepEqual(joined, Array.from(new RandomState(0).randn(5)));
  // Uniform draws between normals do not consume the cached value (numpy: r = RandomState(7);
  // r.randn(1), r.rand(2), r.randn(2)).
  assert.equal(new RandomState(1).standardNormal(), 1.6243453636632417);
  const rs = new RandomState(7);
  assert.deepEqual(Array.from(rs.randn(1)), [1.690525703800356]);
  assert.deepEqual([rs.randomSample(), rs.randomSample()], [0.9779895119966027, 0.5384958704104337]);
  assert.deepEqual(Array.from(rs.randn(2)), [-0.4659373705408328, -0.7889230286257386]);
});

test('randn shape handling', () => {
  assert.equal(new RandomState(1).randn().length, 1);
  assert.equal(new RandomState(1).randn(2, 3, 4).length, 24);
  assert.equal(new RandomState(1).randn(2, 0).length, 0);
  assert.throws(() => new RandomState(1).randn(-1), RangeError);
});

function flatten(x: unknown, out: number[] = []): number[] {
  if (Array.isArray(x)) for (const v of x) flatten(v, out);
  else out.push(x as number);
  return out;
}

// Both traces draw from RandomState(1), so they share a prefix. Every draw is bit-identical
// except the pair 2176/2177: there r2 = 0.6914425245281446 and glibc's log returns
// -0.3689752484277001 where the correctly rounded value (ours) is -0.3689752484277, so those
// two draws differ by 1 ulp (numpy's result depends on the C library's log here).
const GLIBC_LOG_MISROUNDED = [2176, 2177];
for (const [model, file, n] of [
  ['gpt2-tiny-trained', 'trace_space_needle.json', 2560],
  ['gpt2-facts-trained', 'trace_eiffel.json', 3200],
] as const) {
  test(`golden ROME noise draws: ${model}/${file}`, () => {
    const trace = JSON.parse(fs.readFileSync(golden(model, file), 'utf8')) as {
      noise: { draws: unknown; draws_shape: number[] };
    };
    const shape = trace.noise.draws_shape;
    const want = flatten(trace.noise.draws);
    assert.equal(want.length, n);
    assert.equal(want.length, shape.reduce((a, b) => a * b, 1));
    const got = new RandomState(1).randn(...shape);
    assert.equal(got.length, want.length);
    const differing: number[] = [];
    for (let i = 0; i < want.length; i++) {
      if (got[i] === want[i]) continue;
      differing.push(i);
      const rel = Math.abs(got[i] - want[i]) / Math.abs(want[i]);
      assert.ok(rel <= 1e-15, `draw ${i}: got ${got[i]}, want ${want[i]} (rel ${rel})`);
    }
    assert.deepEqual(differing, GLIBC_LOG_MISROUNDED.filter((i) => i < n));
  });
}
