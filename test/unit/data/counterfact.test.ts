import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultDatasetPath, fillPrompt, loadCounterFact, parseCaseSpec, selectCases } from '../../../src/engine/data/counterfact';
import type { CaseSpec, CounterFactRecord } from '../../../src/engine/data/counterfact';
import { isLocusError } from '../../../src/engine/index';
import { repoRoot, tempDir } from '../../helpers/paths';

type Mutable = Record<string, unknown> & { requested_rewrite: Record<string, unknown> };

/** Asserts that `fn` throws a one-line LocusError with `code` whose message matches every pattern. */
function assertLocusError(fn: () => unknown, code: string, ...words: (RegExp | string)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isLocusError(e), `not a LocusError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    for (const w of words) {
      if (typeof w === 'string') assert.ok(e.message.includes(w), `"${w}" in: ${e.message}`);
      else assert.match(e.message, w);
    }
    return true;
  });
}

const ids = (spec: CaseSpec): Extract<CaseSpec, { kind: 'ids' }> => {
  assert.equal(spec.kind, 'ids');
  return spec as Extract<CaseSpec, { kind: 'ids' }>;
};

describe('CounterFact: the bundled sample', () => {
  test('is found above this file and holds the 2,191-record azhx test split', () => {
    const file = defaultDatasetPath();
    assert.equal(file, path.join(repoRoot, 'assets', 'data', 'counterfact_sample.json'));
    const records = loadCounterFact(file);
    assert.equal(records.length, 2191);
    assert.deepEqual(records.slice(0, 3).map((r) => r.case_id), [20952, 3648, 819]);
    assert.equal(new Set(records.map((r) => r.case_id)).size, 2191);
    const first = records[0];
    assert.equal(fillPrompt(first), 'Angola is located in');
    assert.equal(first.requested_rewrite.target_true.str, 'Africa');
    assert.equal(first.paraphrase_prompts.length, 2);
    assert.equal(first.neighborhood_prompts.length, 10);
    assert.ok(fs.existsSync(path.join(repoRoot, 'assets', 'data', 'README.md')), 'attribution next to the data');
  });

  test('fillPrompt puts the subject in literally', () => {
    const r = { requested_rewrite: { prompt: 'The owner of {} is', subject: 'A$&B $1' } } as unknown as CounterFactRecord;
    assert.equal(fillPrompt(r), 'The owner of A$&B $1 is');
  });
});

describe('CounterFact: validation names the file, the record and its case_id', () => {
  let tmp: string;
  let sample: CounterFactRecord[];
  before(() => {
    tmp = tempDir('locus-cf-');
    sample = loadCounterFact(defaultDatasetPath()).slice(0, 4);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Writes the first four sample records, with `edit` applied to record `i`, and returns the file. */
  function withBroken(name: string, i: number, edit: (r: Mutable) => void): string {
    const records = structuredClone(sample) as unknown as Mutable[];
    edit(records[i]);
    const file = path.join(tmp, name);
    fs.writeFileSync(file, JSON.stringify(records, null, 2));
    return file;
  }

  test('a well-formed file loads unchanged', () => {
    const file = withBroken('ok.json', 0, () => {});
    assert.deepEqual(loadCounterFact(file), sample);
  });

  test('missing fields', () => {
    let f = withBroken('missing.json', 2, (r) => delete r.neighborhood_prompts);
    assertLocusError(() => loadCounterFact(f), 'bad-config', f, 'record 2 (case_id 819)', 'has no neighborhood_prompts');
    f = withBroken('missing-subject.json', 1, (r) => delete r.requested_rewrite.subject);
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 1 (case_id 3648)', 'has no requested_rewrite.subject');
    f = withBroken('missing-target.json', 3, (r) => delete (r.requested_rewrite.target_true as Record<string, unknown>).str);
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 3', 'has no requested_rewrite.target_true.str');
    f = withBroken('missing-id.json', 1, (r) => delete r.case_id);
    assertLocusError(() => loadCounterFact(f), 'bad-config', `${f}: record 1: has no case_id`);
  });

  test('a prompt without exactly one "{}"', () => {
    let f = withBroken('nohole.json', 1, (r) => (r.requested_rewrite.prompt = 'X is located in'));
    assertLocusError(() => loadCounterFact(f), 'bad-config', `${f}: record 1 (case_id 3648): requested_rewrite.prompt has no "{}"`);
    f = withBroken('twoholes.json', 0, (r) => (r.requested_rewrite.prompt = '{} and {} are in'));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 0 (case_id 20952)', 'has 2 "{}"');
  });

  test('wrong types', () => {
    let f = withBroken('id-string.json', 2, (r) => (r.case_id = '819'));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 2', 'case_id must be a non-negative integer (got "819")');
    f = withBroken('id-fraction.json', 2, (r) => (r.case_id = 8.5));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 2', 'case_id must be a non-negative integer');
    f = withBroken('para-string.json', 1, (r) => (r.paraphrase_prompts = 'Angola is in'));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 1 (case_id 3648)', 'paraphrase_prompts must be an array');
    f = withBroken('neigh-number.json', 1, (r) => ((r.neighborhood_prompts as unknown[])[4] = 7));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 1 (case_id 3648)', 'neighborhood_prompts[4] must be a non-empty string (got 7)');
    f = withBroken('target-number.json', 0, (r) => ((r.requested_rewrite.target_true as Record<string, unknown>).str = 5));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'requested_rewrite.target_true.str must be a non-empty string (got 5)');
    f = withBroken('rr-array.json', 0, (r) => ((r as Record<string, unknown>).requested_rewrite = []));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'requested_rewrite must be an object');
    f = withBroken('empty-para.json', 3, (r) => (r.paraphrase_prompts = []));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 3', 'paraphrase_prompts is empty');
  });

  test('duplicate case_ids, non-objects, EasyEdit records, empty files', () => {
    let f = withBroken('dup.json', 3, (r) => (r.case_id = 3648));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 3 (case_id 3648)', 'also record 1');
    f = path.join(tmp, 'strings.json');
    fs.writeFileSync(f, '["a"]');
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 0: is a string, not an object');
    f = path.join(tmp, 'easyedit.json');
    fs.writeFileSync(f, JSON.stringify([{ case_id: 10, prompt: 'BBC One, by', subject: 'BBC One', target_new: 'Sega', ground_truth: 'BBC' }]));
    assertLocusError(() => loadCounterFact(f), 'bad-config', 'record 0 (case_id 10)', 'EasyEdit');
    f = path.join(tmp, 'empty.json');
    fs.writeFileSync(f, '[]');
    assertLocusError(() => loadCounterFact(f), 'bad-config', f, 'holds no records');
    f = path.join(tmp, 'number.json');
    fs.writeFileSync(f, '42');
    assertLocusError(() => loadCounterFact(f), 'bad-config', f, 'expected a JSON array');
  });

  test('malformed JSON and missing files', () => {
    const f = path.join(tmp, 'truncated.json');
    fs.writeFileSync(f, JSON.stringify(sample, null, 2).slice(0, 500));
    assertLocusError(() => loadCounterFact(f), 'bad-config', f, 'is not valid JSON');
    const nope = path.join(tmp, 'nope.json');
    assertLocusError(() => loadCounterFact(nope), 'not-found', nope, 'does not exist');
    assertLocusError(() => loadCounterFact(tmp), 'not-found', 'is a folder');
  });

  test('JSON lines: one record per line, blank lines skipped, errors give the line', () => {
    const f = path.join(tmp, 'records.jsonl');
    fs.writeFileSync(f, sample.map((r) => JSON.stringify(r)).join('\n\n') + '\n');
    assert.deepEqual(loadCounterFact(f), sample);
    const lines = sample.map((r) => JSON.stringify(r));
    fs.writeFileSync(f, [lines[0], lines[1].slice(0, 40), lines[2]].join('\n'));
    assertLocusError(() => loadCounterFact(f), 'bad-config', `${f}: line 2 is not valid JSON`);
    const broken = structuredClone(sample[2]) as unknown as Mutable;
    broken.requested_rewrite.prompt = 'no hole';
    fs.writeFileSync(f, [lines[0], '', lines[1], JSON.stringify(broken)].join('\n'));
    assertLocusError(() => loadCounterFact(f), 'bad-config', `${f}: line 4, record 2 (case_id 819): requested_rewrite.prompt has no "{}"`);
    // A file holding one pretty-printed record is one record.
    fs.writeFileSync(f, JSON.stringify(sample[1], null, 2));
    assert.deepEqual(loadCounterFact(f), [sample[1]]);
  });
});

describe('CounterFact: --cases', () => {
  let records: CounterFactRecord[];
  before(() => (records = loadCounterFact(defaultDatasetPath())));

  test('parses ranges, lists and known:N', () => {
    assert.deepEqual(parseCaseSpec('0-99'), { kind: 'ids', items: [[0, 99]], text: '0-99' });
    assert.deepEqual(ids(parseCaseSpec('12,40,77')).items, [[12, 12], [40, 40], [77, 77]]);
    assert.deepEqual(ids(parseCaseSpec(' 3 - 5 , 9 ')).items, [[3, 5], [9, 9]]);
    assert.deepEqual(parseCaseSpec('known:25'), { kind: 'known', n: 25 });
    for (const bad of ['', 'abc', '5-3', '1,,2', '-4', '1-2-3', 'known:0', 'known:x', 'known:']) {
      assertLocusError(() => parseCaseSpec(bad), 'bad-input', `--cases "${bad}"`);
    }
  });

  test('numbers are case_ids; selection keeps file order', () => {
    const range = selectCases(records, ids(parseCaseSpec('0-999')));
    assert.deepEqual(range, records.filter((r) => r.case_id <= 999));
    assert.ok(range.length > 50 && range.length < 150, `${range.length} records`);
    // 3648 comes after 20952 in the file, whatever order the spec gives.
    assert.deepEqual(selectCases(records, ids(parseCaseSpec('3648,20952,3648'))).map((r) => r.case_id), [20952, 3648]);
    assert.deepEqual(selectCases(records, ids(parseCaseSpec('819,0-20'))).map((r) => r.case_id), [819, 18, 13]);
  });

  test('unknown case_ids are listed (at most 5), empty ranges named', () => {
    // The sample's smallest case_id is 13.
    assertLocusError(() => selectCases(records, ids(parseCaseSpec('20952,1,2,3,4,5,6,7')), 'sample.json'), 'not-found', 'no record in sample.json has case_id 1, 2, 3, 4, 5 and 2 more');
    assertLocusError(() => selectCases(records, ids(parseCaseSpec('0-12'))), 'not-found', 'a case_id in 0-12');
  });
});
