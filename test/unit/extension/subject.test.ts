import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { capitalisedSpans, guessSubject } from '../../../src/extension/probing/subject';

test('the subject guess is the longest capitalised span, connectives inside names included', () => {
  assert.equal(guessSubject('The Space Needle is located in the city of'), 'The Space Needle');
  assert.equal(guessSubject('Danielle Darrieux’s mother tongue is'), 'Danielle Darrieux');
  assert.equal(guessSubject("Danielle Darrieux's mother tongue is"), 'Danielle Darrieux');
  assert.equal(guessSubject('In 1999, the Bank of England raised'), 'Bank of England');
  // a connective is kept only between capitalised words
  assert.deepEqual(
    capitalisedSpans('Paris of the world').map((s) => s.text),
    ['Paris'],
  );
});

test('a lone sentence-initial word loses to a later span; no capitals gives the whole prompt', () => {
  assert.equal(guessSubject('Where is Angola located'), 'Angola');
  assert.equal(guessSubject('the capital of france is'), 'the capital of france is');
  assert.equal(guessSubject('Angola is located in'), 'Angola');
});
