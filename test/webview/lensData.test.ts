/**
 * The Logit Lens panel's pure helpers: the command's argument and the form's checks (host side), and
 * the webview's cell texts, colours, tooltip and CSV tables — on a small hand-made result.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkLensForm, lensArgs, lensKey, lensTitle } from '../../src/extension/panels/lensData';
import type { LensResultDto } from '../../src/protocol/panels/lens';
import { csv } from '../../webview/shared/csv';
import { ANSWER_RAMP, answerColour, answerCsv, answerText, cellToken, cellTooltip, percent, probShort, TOP_RAMP, topColour, topCsv } from '../../webview/lens/data';

const tok = (id: number, token: string, prob: number) => ({ id, token, prob, logprob: Math.log(prob) });
/** 2 layers × 2 positions, K = 2, answer " Paris" (id 9). */
const result: LensResultDto = {
  tokens: ['The', ' city\n'],
  ids: [1, 2],
  answer: { id: 9, token: ' Paris', text: 'Paris' },
  layers: [
    { layer: 0, positions: [{ top: [tok(5, ' a', 0.5), tok(6, ',', 0.25)], answer: { ...tok(9, ' Paris', 1e-7), rank: 812 } }, { top: [tok(7, ' of', 0.9), tok(9, ' Paris', 0.05)], answer: { ...tok(9, ' Paris', 0.05), rank: 2 } }] },
    { layer: 1, positions: [{ top: [tok(5, ' a', 0.4), tok(8, '=', 0.1)], answer: { ...tok(9, ' Paris', 0.002), rank: 30 } }, { top: [tok(9, ' Paris', 0.996), tok(7, ' of', 0.001)], answer: { ...tok(9, ' Paris', 0.996), rank: 1 } }] },
  ],
};

describe('logit lens panel data', () => {
  test('the command argument: absent, a prompt with or without an answer, malformed ones', () => {
    assert.equal(lensArgs(undefined), undefined);
    assert.deepEqual(lensArgs({ prompt: 'Angola is located in', answer: 'Africa' }), { prompt: 'Angola is located in', answer: 'Africa' });
    assert.deepEqual(lensArgs({ prompt: 'x', answer: '  ' }), { prompt: 'x' });
    assert.throws(() => lensArgs('Angola'), /takes \{ prompt: string/);
    assert.throws(() => lensArgs({ prompt: '  ' }), /prompt is empty/);
    assert.throws(() => lensArgs({ prompt: 'x', answer: 3 }), /answer must be text/);
    assert.equal(lensKey('a b'), 'lens:a b');
    assert.equal(lensTitle('The Eiffel Tower is located in the city of'), 'Lens: The Eiffel Tower is located in …');
  });

  test('the form: K 1..50 (default 5), an empty answer is none', () => {
    assert.deepEqual(checkLensForm('p', {}), { prompt: 'p', top: 5 });
    assert.deepEqual(checkLensForm('p', { top: 12, answer: ' Paris' }), { prompt: 'p', top: 12, answer: ' Paris' });
    assert.deepEqual(checkLensForm('p', { top: 1, answer: '' }), { prompt: 'p', top: 1 });
    for (const top of [0, 51, 2.5, '5']) assert.throws(() => checkLensForm('p', { top }), /K must be a whole number from 1 to 50/);
    assert.throws(() => checkLensForm('p', { answer: {} }), /answer must be text/);
  });

  test('texts: percentages, tiny probabilities, tokens cut and escaped', () => {
    assert.deepEqual([0.996, 0.43, 0.05, 0.0004].map(percent), ['100%', '43%', '5.0%', '<0.1%']);
    assert.deepEqual([0.05, 2e-6, 0].map(probShort), ['5.0%', '2e-6', '0']);
    assert.equal(cellToken(' city\n'), ' city\\n');
    assert.equal(cellToken(' internationally', 10), ' internat…');
    assert.equal(answerText(result.layers[0].positions[0].answer!), '#812 · 1e-7');
  });

  test('colours: the ramps\' ends at probability 0 and 1, the answer on a log scale from 1e-6', () => {
    assert.equal(topColour(0), TOP_RAMP[0]);
    assert.equal(topColour(1), TOP_RAMP[8]);
    assert.equal(answerColour(1e-9), ANSWER_RAMP[0]);
    assert.equal(answerColour(1e-6), ANSWER_RAMP[0]);
    assert.equal(answerColour(1), ANSWER_RAMP[8]);
    assert.equal(answerColour(1e-3), ANSWER_RAMP[4], 'halfway in log10 is the middle class');
  });

  test('the tooltip lists the top K and the answer\'s standing', () => {
    assert.equal(cellTooltip(result, 1, 1, 5), 'layer 1, position 1 (" city\\n"): top 2\n1. " Paris"  100%\n2. " of"  0.1%\nanswer " Paris": rank 1, p = 100%');
    assert.equal(cellTooltip(result, 0, 0, 1).split('\n').length, 3);
  });

  test('CSV: a row per (layer, position, k) for the top map, per (layer, position) for the answer', () => {
    const top = topCsv(result, 2);
    assert.equal(top.length, 1 + 2 * 2 * 2);
    assert.deepEqual(top[0], ['layer', 'position', 'input_token', 'k', 'token', 'id', 'prob', 'logprob']);
    assert.deepEqual(top[8], [1, 1, ' city\\n', 2, ' of', 7, 0.001, Math.log(0.001)]);
    assert.equal(topCsv(result, 1).length, 1 + 4);
    const answer = answerCsv(result);
    assert.deepEqual(answer[1], [0, 0, 'The', ' Paris', 9, 812, 1e-7, Math.log(1e-7)]);
    assert.match(csv(answer), /^layer,position,input_token,answer_token,answer_id,rank,prob,logprob\r\n0,0,The, Paris,9,812,/);
  });
});
