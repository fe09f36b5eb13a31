import * as assert from 'node:assert/strict';

/** Largest |a-b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Asserts every element within `atol` absolute; names the worst index on failure. */
export function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, what = 'values'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  let worst = -1;
  let worstDiff = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worstDiff)) {
      worstDiff = Number.isNaN(d) ? Infinity : d;
      worst = i;
    }
  }
  if (worstDiff > atol) {
    assert.fail(`${what}: max |diff| ${worstDiff} > ${atol} at index ${worst} (actual ${actual[worst]}, expected ${expected[worst]})`);
  }
}

/** Relative Frobenius error ‖a-b‖ / ‖b‖. */
export function relFrobenius(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}
