import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatasetRecordDto } from '../../../src/protocol/dto';
import { groupByRelation, matchesFilter } from '../../../src/extension/views/factsGrouping';

const rec = (case_id: number, relation_id: string, subject: string, target_true: string, target_new = 'X', prompt = '{} is in'): DatasetRecordDto => ({ case_id, relation_id, subject, target_true, target_new, prompt });
const records = [rec(0, 'P103', 'Danielle Darrieux', 'French', 'English', 'The mother tongue of {} is'), rec(1, 'P17', 'Autonomous University of Madrid', 'Spain', 'Sweden'), rec(2, 'P17', 'Kuala Langat', 'Malaysia'), rec(1000, 'P30', 'Angola', 'Africa')];

test('relations are sorted numerically and keep file order inside', () => {
  const groups = groupByRelation(records, '');
  assert.deepEqual(groups.map((g) => g.kind === 'relation' && g.relation), ['P17', 'P30', 'P103']);
  const p17 = groups[0];
  assert.ok(p17.kind === 'relation');
  assert.deepEqual(p17.records.map((r) => r.case_id), [1, 2]);
  assert.equal(p17.template, '{} is in');
});

test('the filter matches subject, targets, relation and exact case ids', () => {
  assert.equal(matchesFilter(records[0], 'darrieux'), true);
  assert.equal(matchesFilter(records[0], 'english'), true); // target_new
  assert.equal(matchesFilter(records[1], 'p17'), true);
  assert.equal(matchesFilter(records[3], '#1000'), true);
  assert.equal(matchesFilter(records[3], '100'), false); // ids match exactly, not as substrings
  assert.deepEqual(groupByRelation(records, 'spain').flatMap((g) => (g.kind === 'relation' ? g.records.map((r) => r.case_id) : [])), [1]);
  assert.deepEqual(groupByRelation(records, 'nothing matches this'), []);
});
