import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { traceCells } from '../../../src/engine/methods/causalTrace/cells';
import { sweepRows } from '../../../src/engine/methods/causalTrace/sweep';

/**
 * One token's sweep on GPT-2 small's depth (12 layers), 3 kinds, W = 10, one sample per cell: without
 * sharing every cell runs its blocks start … 11 (hidden 66 + mlp 123 + attn 123 = 312 block-rows); the
 * six windows that start at layer 0 share layers 0–4 and split as their windows end, giving 242
 * (research/performance.md §4.3 item 5).
 */
test('sweepRows: window cells share rows until their restores differ', () => {
  const cells = traceCells(['hidden', 'mlp', 'attn'], 0, 1, 12, 10);
  const unshared = cells.reduce((a, c) => a + (12 - c.start), 0);
  assert.equal(unshared, 312);
  const rows = sweepRows(cells, 12, 1);
  assert.deepEqual(rows, [2, 5, 8, 11, 14, 19, 24, 27, 30, 33, 34, 35, 36]);
  assert.equal(rows.slice(0, -1).reduce((a, r) => a + r, 0), 242);
  // The head scores every cell: 36 groups (every window has split off by the last block).
  assert.equal(rows[12], cells.length);
  // Samples scale every group.
  assert.deepEqual(sweepRows(cells, 12, 10), rows.map((r) => 10 * r));
});

test('sweepRows: hidden cells never share, so a hidden-only sweep runs every cell from its start', () => {
  const cells = traceCells(['hidden'], 0, 1, 6, 10);
  assert.deepEqual(sweepRows(cells, 6, 1), [0, 1, 2, 3, 4, 5, 6]);
});
