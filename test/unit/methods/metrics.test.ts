import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { editScores, erased, neighborhoodScore, recovered, romeSuccess } from '../../../src/engine/methods/problems/metrics';

test('recovered, erased and neighborhood scores follow the seed paper code', () => {
  assert.ok(Math.abs(recovered(0.2, 0.6) - 0.5) < 1e-12); // (0.6 − 0.2) / (1 − 0.2)
  assert.equal(recovered(0.5, 0.4), 2e-8); // clipped below at 2e-8
  assert.equal(recovered(0, 1), 1);
  assert.ok(Math.abs(erased(0.8, 0.2) - 0.75) < 1e-12);
  assert.equal(erased(0.2, 0.3), 0);
  assert.equal(neighborhoodScore(0.3, 0.3), 1);
  assert.ok(Math.abs(neighborhoodScore(0.9, 0.5) - (1 - 0.4 / 0.9)) < 1e-12);
  assert.ok(Math.abs(neighborhoodScore(0.1, 0.3) - (1 - 0.2 / 0.9)) < 1e-12);
});

test('editScores: every prompt by default, the first only when asked; overall is the arithmetic mean', () => {
  const s = editScores({ pre: 0.2, post: 0.6 }, [{ pre: 0, post: 0.5 }, { pre: 0, post: 1 }], [{ pre: 0.5, post: 0.5 }, { pre: 0.5, post: 0 }], false);
  const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  close(s.rewrite, 0.5);
  close(s.paraphrase, 0.75);
  close(s.neighborhood, 0.5);
  close(s.overall, (0.5 + 0.75 + 0.5) / 3);
  const first = editScores({ pre: 0.2, post: 0.6 }, [{ pre: 0, post: 0.5 }, { pre: 0, post: 1 }], [{ pre: 0.5, post: 0.5 }, { pre: 0.5, post: 0 }], false, true);
  assert.deepEqual([first.paraphrase, first.neighborhood], [0.5, 1]);
  const erase = editScores({ pre: 0.8, post: 0.2 }, [], [], true);
  assert.ok(Math.abs(erase.rewrite - 0.75) < 1e-12);
  assert.ok(Number.isNaN(erase.paraphrase));
  assert.ok(Math.abs(erase.overall - 0.75) < 1e-12, 'overall over the scores that exist');
});

test("ROME's success counts and magnitudes", () => {
  const r = romeSuccess([{ newMean: Math.log(0.6), trueMean: Math.log(0.1) }], [{ newMean: Math.log(0.2), trueMean: Math.log(0.3) }], [{ newMean: Math.log(0.1), trueMean: Math.log(0.5) }]);
  assert.deepEqual([r.efficacy, r.paraphrase, r.neighborhood], [1, 0, 1]);
  assert.ok(Math.abs(r.efficacyMagnitude - 0.5) < 1e-12);
  assert.ok(Math.abs(r.neighborhoodMagnitude - 0.4) < 1e-12);
});
