import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { editLabel } from '../../../src/extension/views/editLabel';
import { bar, probeMarkdown, showToken } from '../../../src/extension/probing/format';

test('tokens show their leading space and newlines', () => {
  assert.equal(showToken(' Paris'), '␣Paris');
  assert.equal(showToken('Paris'), 'Paris');
  assert.equal(showToken('\n'), '⏎');
});

test('bars have 20 cells, clamped', () => {
  assert.equal(bar(0.5), '██████████░░░░░░░░░░');
  assert.equal(bar(1.7), '█'.repeat(20));
  assert.equal(bar(-1), '░'.repeat(20));
});

test('the hover table lists tokens with percent and log-prob', () => {
  const md = probeMarkdown('Angola is located in', { tokens: ['Ang', 'ola', ' is', ' located', ' in'], ids: [1, 2, 3, 4, 5], top: [{ id: 9, token: ' Africa', prob: 0.9012, logprob: Math.log(0.9012) }] });
  assert.match(md, /\| `␣Africa` \| 90\.1% \| -0\.10 \|/);
  assert.match(md, /\(5 tokens\)/);
});

test('edit labels name the method, layers and the rewrite', () => {
  const e = { id: 'e2', method: 'ft5' as const, layers: [1, 2, 3, 4, 5], problem: 'error-injection' as const, subjects: ['Angola'], targets: ['Europe'], deltas: [] };
  assert.deepEqual(editLabel(e), { label: 'e2 FT-5 layers 1–5', description: 'Angola → Europe (error-injection)' });
});
