import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { golden, tempDir } from '../helpers/paths';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * `locus assert --edits` on the embedded model (issue 19 acceptance): an edit saved by `locus edit --json`
 * (constrained fine-tuning, "Angola is located in" → " Europe": 1 s, a dense ΔW of layer 0's W_out) is
 * applied before the facts are checked, so the fact it overturned fails and the new one passes, while an
 * untouched fact (Shanghai's twin city → " Barcelona") still holds; an edit made for another model is
 * refused in one line with exit 2.
 */
describe('locus assert --edits (embedded model)', () => {
  let tmp: string;
  let editFile: string;
  let facts: string;
  before(async () => {
    tmp = tempDir('locus-assert-edits-');
    fs.writeFileSync(path.join(tmp, 'request.json'), JSON.stringify({ prompt: '{} is located in', subject: 'Angola', target_new: { str: 'Europe' }, target_true: { str: 'Africa' } }));
    const edit = await run(['edit', '--method', 'ft', '--request', path.join(tmp, 'request.json'), '--json']);
    assert.equal(edit.code, 0, edit.err);
    editFile = path.join(tmp, 'edit.json');
    fs.writeFileSync(editFile, edit.out);
    facts = path.join(tmp, 'facts.jsonl');
    fs.writeFileSync(
      facts,
      [
        { prompt: 'Angola is located in', expect: ' Africa' },
        { prompt: 'Angola is located in', expect: ' Europe' },
        { prompt: 'What is the twin city of Shanghai? It is', expect: ' Barcelona' },
      ].map((f) => JSON.stringify(f)).join('\n') + '\n',
    );
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('without the edit the old fact holds; with it the old fact fails and the new one holds', async () => {
    const unedited = await run(['assert', facts, '--json']);
    assert.equal(unedited.code, 1);
    assert.deepEqual((JSON.parse(unedited.out) as { results: Array<{ passed: boolean }> }).results.map((r) => r.passed), [true, false, true]);

    const edited = await run(['assert', facts, '--edits', editFile, '--json']);
    assert.equal(edited.code, 1, edited.err);
    const r = JSON.parse(edited.out) as { edits: string[]; results: Array<{ passed: boolean; gave: string }> };
    assert.deepEqual(r.results.map((x) => x.passed), [false, true, true]);
    assert.deepEqual(r.edits, [editFile]);

    const text = await run(['assert', facts, '--edits', editFile]);
    assert.equal(text.code, 1);
    assert.match(text.out, /^FAIL .*Angola is located in.* Africa/m);
    assert.match(text.out, /3 facts checked against .* with 1 edit applied: 2 passed, 1 failed/);
  });

  test("another model's edit: exit 2, one line", async () => {
    const foreign = await run(['assert', facts, '--model', golden('gpt2-facts-trained'), '--edits', editFile]);
    assert.equal(foreign.code, 2);
    assert.match(foreign.err, /--edits .*edit\.json: the edit was computed on .*, not on gpt2-facts-trained/);
    assert.equal(foreign.err.split('\n').length, 1, foreign.err);
  });
});
