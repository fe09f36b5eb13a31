/** The cost gate's decision (issue 19 item 5): above the threshold it asks, below it starts; Cancel starts nothing. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { costGateDecision, costMessage, passCostGate, withEstimate } from '../../../src/extension/panels/costGate';
import type { JobProgress } from '../../../src/protocol/engine';
import type { CostEstimateDto } from '../../../src/protocol/cost';

const estimate = (seconds: number): CostEstimateDto => ({
  work: { kind: 'trace', cells: 360, runs: 3600 }, seconds, duration: seconds < 90 ? `about ${Math.round(seconds)} s` : `about ${Math.round(seconds / 60)} min`, basis: 'measured',
  note: 'measured on this machine', text: '3 kinds × 12 layers × 10 tokens = 360 cells × 10 samples = 3,600 runs',
});

test('the decision: above the threshold (or threshold 0) confirm, at or below it start', () => {
  assert.equal(costGateDecision(31, 30), 'confirm');
  assert.equal(costGateDecision(30, 30), 'start');
  assert.equal(costGateDecision(2, 30), 'start');
  assert.equal(costGateDecision(2, 0), 'confirm');
  assert.equal(costGateDecision(NaN, 30), 'confirm');
});

test('below the threshold the work starts without a modal; above it the modal decides, and Cancel starts nothing', async () => {
  const asked: string[] = [];
  const confirm = (answer: boolean) => async (message: string): Promise<boolean> => {
    asked.push(message);
    return answer;
  };
  const quick = await passCostGate('trace grid', { estimate: async () => estimate(12), confirm: confirm(false), thresholdSeconds: 30 });
  assert.deepEqual([quick.start, quick.progress, asked.length], [true, 'about 12 s (measured)', 0]);

  const long = await passCostGate('trace grid', { estimate: async () => estimate(120), confirm: confirm(false), thresholdSeconds: 30 });
  assert.equal(long.start, false);
  assert.deepEqual(asked, ['This trace grid: 3 kinds × 12 layers × 10 tokens = 360 cells × 10 samples = 3,600 runs, about 2 min on this machine.']);
  const started = await passCostGate('trace grid', { estimate: async () => estimate(120), confirm: confirm(true), thresholdSeconds: 30 });
  assert.equal(started.start, true);
  const always = await passCostGate('study', { estimate: async () => estimate(1), confirm: confirm(false), thresholdSeconds: 0 });
  assert.equal(always.start, false);
  assert.equal(asked.length, 3);
  assert.equal(costMessage('layer sweep', estimate(12)), `This layer sweep: ${estimate(12).text}, about 12 s on this machine.`);
});

test("the estimate stays beside the job's progress messages", () => {
  const seen: JobProgress[] = [];
  const o = withEstimate({ onProgress: (p) => seen.push(p) }, 'about 2 min (measured)');
  o.onProgress!({ kind: 'report', message: 'rome at layer 3', done: 1, total: 6 });
  o.onProgress!({ kind: 'report', done: 2, total: 6 });
  assert.deepEqual(seen.map((p) => p.message), ['rome at layer 3 · estimated about 2 min (measured)', 'estimated about 2 min (measured)']);
  const plain = { onProgress: (p: JobProgress) => seen.push(p) };
  assert.equal(withEstimate(plain, ''), plain);
});
