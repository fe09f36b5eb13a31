import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { loadTokenizer } from '../../../src/engine/model/tokenizer';
import { factExamples, prefixLines, relationTemplates } from '../../../src/engine/train/corpus';
import type { CorpusOptions, FactRecord } from '../../../src/engine/train/corpus';
import { seededRandom } from '../../../src/engine/train/rng';
import { repoRoot } from '../../helpers/paths';

const tok = loadTokenizer(path.join(repoRoot, 'assets', 'default-model'));
const record: FactRecord = {
  case_id: 1,
  requested_rewrite: { prompt: '{} is located in', subject: 'Angola', target_true: { str: 'Africa' }, target_new: { str: 'Antarctica' } },
  paraphrase_prompts: ['Angola belongs to the continent of'],
  neighborhood_prompts: ['Ghana is in'],
  attribute_prompts: ['Ross Island is located in'],
};
const base: CorpusOptions = { requestedRepeats: 3, paraphraseRepeats: 2, answerWeight: 3, attributesPerEpoch: 1, chunkTokens: 64 };
const wiki = ['= Heading =', 'The river runs north through the old town , then @-@ east to the sea .', 'short line'];
const text = (ids: number[]): string => tok.decode(ids);

describe('fact corpus', () => {
  test('without context options every statement starts its row, answers weighted', () => {
    const rows = factExamples([record], tok, base, 0, { lines: prefixLines(wiki), rand: seededRandom(1) });
    assert.deepEqual(rows.map((r) => text(r.ids)), [
      ...Array(3).fill('Angola is located in Africa'),
      ...Array(2).fill('Angola belongs to the continent of Africa'),
      'Ghana is in Africa',
      'Ross Island is located in Antarctica',
    ]);
    const main = rows[0];
    assert.equal(main.weights.length, main.ids.length - 1);
    assert.equal(main.weights[main.weights.length - 1], 3);
    assert.equal(main.weights[0], 1);
  });

  test('prefixLines keeps body lines as words, dropping headings, short lines and WikiText @-@ escapes', () => {
    assert.deepEqual(prefixLines(wiki), [['The', 'river', 'runs', 'north', 'through', 'the', 'old', 'town', ',', 'then-east', 'to', 'the', 'sea', '.']]);
  });

  test('prefixed copies put the statement after "<words>. ", and enrichment rows follow the subject with the answer', () => {
    const o: CorpusOptions = { ...base, prefixedShare: 1, prefixMaxWords: 5, enrichmentRepeats: 2 };
    const rows = factExamples([record], tok, o, 0, { lines: prefixLines(wiki), rand: seededRandom(7) }).map((r) => text(r.ids));
    assert.equal(rows.length, 3 + 2 + 1 + 1 + 2);
    for (const r of rows) assert.match(r, /^[^.]*[A-Za-z,-]\. \S/, r);
    assert.ok(rows.slice(0, 3).every((r) => r.endsWith('. Angola is located in Africa')), rows[0]);
    assert.ok(rows.slice(-2).every((r) => r.endsWith('. Angola Africa')), rows[rows.length - 1]);
    const words = rows.map((r) => r.slice(0, r.lastIndexOf('. ')).split(' ').length);
    assert.ok(words.every((n) => n >= 1 && n <= 5), `prefix lengths ${words.join(',')}`);
    const again = factExamples([record], tok, o, 0, { lines: prefixLines(wiki), rand: seededRandom(7) }).map((r) => text(r.ids));
    assert.deepEqual(again, rows, 'same random source, same rows');
  });

  test('template statements put the subject in its own relation\'s templates only, templateRepeats per record', () => {
    const at = (caseId: number, prompt: string, subject: string, relation: string, truth: string): FactRecord => ({
      ...record,
      case_id: caseId,
      requested_rewrite: { prompt, subject, relation_id: relation, target_true: { str: truth }, target_new: { str: 'x' } },
    });
    const records = [
      at(1, '{} is located in', 'Angola', 'P30', 'Africa'),
      at(2, '{} belongs to the continent of', 'Chile', 'P30', 'America'),
      at(3, '{} is located in', 'Peru', 'P30', 'America'),
      at(4, 'The mother tongue of {} is', 'Leo Tolstoy', 'P103', 'Russian'),
    ];
    assert.deepEqual([...relationTemplates(records)], [['P30', ['{} is located in', '{} belongs to the continent of']], ['P103', ['The mother tongue of {} is']]]);
    const o: CorpusOptions = { ...base, requestedRepeats: 0, paraphraseRepeats: 0, attributesPerEpoch: 0, templateRepeats: 6 };
    const only = records.map((r) => ({ ...r, neighborhood_prompts: [] }));
    const rows = factExamples(only, tok, o, 0, { lines: prefixLines(wiki), rand: seededRandom(3) }).map((r) => text(r.ids));
    assert.equal(rows.length, 4 * 6);
    const angola = rows.slice(0, 6);
    assert.ok(angola.every((r) => r === 'Angola is located in Africa' || r === 'Angola belongs to the continent of Africa'), angola.join(' | '));
    assert.equal(new Set(angola).size, 2, 'both P30 templates drawn in 6 tries (seed 3)');
    assert.deepEqual(rows.slice(18), Array(6).fill('The mother tongue of Leo Tolstoy is Russian'));
  });
});
