import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorMessage, failureKind, isCancellation } from '../../../src/extension/errors';
import { EngineError } from '../../../src/extension/workerClient';

test("a LocusError the user can act on is shown as the worker's line, exactly", () => {
  for (const code of ['non-finite', 'io', 'busy', 'bad-input', 'bad-config', 'not-found', 'shape-mismatch'] as const) {
    const line = `study folder /w/run is being written by process 12 (${code}); wait for it or stop it`;
    const e = new EngineError(code, line);
    assert.equal(failureKind(e), 'user', code);
    assert.equal(errorMessage(e), line, code);
  }
});

test('the worker stopping is shown as its line too', () => {
  const e = new EngineError('worker-stopped', 'the Locus worker stopped (signal SIGKILL); it was restarted and the model reloaded');
  assert.equal(failureKind(e), 'user');
  assert.equal(errorMessage(e), e.message);
});

test('a cancellation is not a failure', () => {
  const e = new EngineError('cancelled', 'cancelled before it started');
  assert.equal(failureKind(e), 'cancelled');
  assert.ok(isCancellation(e));
  assert.ok(!isCancellation(new EngineError('busy', 'x')));
  assert.ok(!isCancellation(new Error('cancelled')));
});

test('an internal error says it is one, in one line, without the stack', () => {
  const e = new EngineError('internal', "Cannot read properties of undefined (reading 'data')\nsecond line", "TypeError: Cannot read…\n    at forward (engine.js:1:2)");
  assert.equal(failureKind(e), 'internal');
  assert.equal(errorMessage(e), "internal error in Locus: Cannot read properties of undefined (reading 'data') (the details are in the Locus output; please report it)");
  assert.doesNotMatch(errorMessage(e), /\n|at forward/);
});

test("the extension's own checks (plain Errors: a form value) read as they are", () => {
  assert.equal(errorMessage(new Error('Samples must be a whole number from 1 to 1000')), 'Samples must be a whole number from 1 to 1000');
  assert.equal(failureKind(new Error('x')), 'user');
  assert.equal(errorMessage('a string'), 'a string');
});
