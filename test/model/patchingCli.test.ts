import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { golden, tempDir } from '../helpers/paths';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('locus patch (gpt2-facts-trained)', () => {
  let tmp: string;
  let request: string;
  const model = golden('gpt2-facts-trained');
  before(() => {
    tmp = tempDir('locus-patch-cli-');
    request = path.join(tmp, 'request.json');
    fs.writeFileSync(request, JSON.stringify({ prompt: '{} is located in the city of', subject: 'The Eiffel Tower', target_true: { str: 'Paris' } }));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('--request with --counterfactual: the JSON grid is normalised and the counterfactual answer is the corrupted top token', async () => {
    const r = await cli(['patch', '--model', model, '--request', request, '--counterfactual', 'The Colosseum', '--kinds', 'resid', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual([j.answer.token, j.counterfactualAnswer.token, j.direction, j.metric], [' Paris', ' Rome', 'denoise', 'logit-diff']);
    assert.deepEqual(Object.keys(j.grids), ['resid']);
    const g = j.grids.resid.effect;
    assert.equal(g[g.length - 1][5], 1);
    assert.deepEqual(j.subjectRange, [0, 5]);
    assert.ok(j.clean > j.corrupted);
  });

  test('a counterfactual of another token length, an unknown kind: one line, exit 2', async () => {
    const r = await cli(['patch', '--model', model, '--request', request, '--counterfactual', 'Big Ben']);
    assert.equal(r.code, 2);
    assert.match(r.err, /"Big Ben" has 2 tokens in the prompt and "The Eiffel Tower" has 5/);
    assert.equal(r.err.trim().split('\n').length, 1);
    const k = await cli(['patch', '--model', model, '--request', request, '--kinds', 'hidden']);
    assert.equal(k.code, 2);
    assert.match(k.err, /--kinds: "hidden" is not one of resid, mlp, attn/);
  });
});
