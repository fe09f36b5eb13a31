import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { topKIndices } from '../../../src/engine/interp/generate';

/** The selection generate() used before: a full stable sort by value, descending. */
const sortedTopK = (row: Float32Array, k: number): number[] => Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, k);

test('topKIndices is the first k of a stable descending sort, ties in index order', () => {
  let s = 12345;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rand() * 300);
    // Few distinct values (many ties) in half the trials, continuous ones in the other half.
    const row = Float32Array.from({ length: n }, () => (trial % 2 ? Math.floor(rand() * 5) : rand() * 20 - 10));
    for (const k of [1, 2, 5, 10, n]) assert.deepEqual(topKIndices(row, k), sortedTopK(row, k), `trial ${trial}, k ${k}`);
  }
});

test('topKIndices: the first maximum wins a tie at k = 1; k beyond the length gives every index', () => {
  assert.deepEqual(topKIndices([1, 3, 3, 2], 1), [1]);
  assert.deepEqual(topKIndices([0.5, -1, 2], 5), [2, 0, 1]);
});
