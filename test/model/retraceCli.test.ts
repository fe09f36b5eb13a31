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

type Grid = { window: number; scores: number[][] };
interface TraceJson {
  answer: { token: string; ids: number[] };
  highScore: number;
  lowScore: number;
  noiseLevel: number;
  grids: Record<string, Grid>;
  original?: { highScore: number; lowScore: number; grids: Record<string, Grid> };
  difference?: { grids: Record<string, Grid> };
  edit?: { method: string; layers: number[] };
}

/**
 * Issue 19 acceptance, CLI: `locus edit --json` (ROME at layer 1 on gpt2-facts-trained with the golden
 * rome_eiffel request and ROME's own statistics files, 5 v steps for speed — the test is about the
 * plumbing; the engine test uses the reference's full edit) writes an edit that `locus trace --edit`
 * re-applies: "original" equals `locus trace` on the unedited model cell for cell, exactly (same code,
 * same weights, same RandomState draws; JSON numbers round-trip exactly), and "difference" equals
 * edited − original exactly. Four noise samples keep it quick (the equalities are exact at any count).
 */
describe('locus trace --edit (gpt2-facts-trained)', () => {
  const G = golden('gpt2-facts-trained');
  const TRACE = ['trace', '--model', G, '--prompt', 'The Eiffel Tower is located in the city of', '--subject', 'The Eiffel Tower', '--samples', '4', '--json'];
  let tmp: string;
  let editFile: string;
  before(async () => {
    tmp = tempDir('locus-retrace-');
    const golden = JSON.parse(fs.readFileSync(path.join(G, 'rome_eiffel.request.json'), 'utf8')) as { request: unknown; hparams: Record<string, unknown>; context_templates: string[] };
    const file = (name: string, v: unknown): string => {
      fs.writeFileSync(path.join(tmp, name), JSON.stringify(v));
      return path.join(tmp, name);
    };
    const edit = await run([
      'edit', '--model', G, '--method', 'rome', '--layer', '1', '--request', file('request.json', golden.request),
      '--hparams', file('hparams.json', { ...golden.hparams, v_num_grad_steps: 5 }), '--context-templates', file('templates.json', golden.context_templates),
      '--stats-dir', path.join(G, 'rome_stats'), '--json',
    ]);
    assert.equal(edit.code, 0, edit.err);
    editFile = file('edit.json', JSON.parse(edit.out));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('original = locus trace on the unedited model; difference = edited − original (both exact)', async () => {
    const plainRun = await run(TRACE);
    assert.equal(plainRun.code, 0, plainRun.err);
    const plain = JSON.parse(plainRun.out) as TraceJson;
    const edited = await run([...TRACE, '--edit', editFile]);
    assert.equal(edited.code, 0, edited.err);
    const r = JSON.parse(edited.out) as TraceJson;
    assert.deepEqual(r.original!.grids, plain.grids);
    assert.equal(r.original!.highScore, plain.highScore);
    assert.equal(r.original!.lowScore, plain.lowScore);
    assert.deepEqual(Object.keys(r.difference!.grids).sort(), ['attn', 'hidden', 'mlp']);
    for (const [kind, grid] of Object.entries(r.grids)) {
      const o = r.original!.grids[kind].scores;
      r.difference!.grids[kind].scores.forEach((row, t) => row.forEach((d, l) => assert.equal(d, grid.scores[t][l] - o[t][l], `${kind} [${t}][${l}]`)));
    }
    // The same answer and noise on both sides; the edit took (p(" Paris") in the clean run falls).
    assert.deepEqual(r.answer, plain.answer);
    assert.equal(r.noiseLevel, plain.noiseLevel);
    assert.ok(r.highScore < plain.highScore - 0.1, `edited high ${r.highScore} vs ${plain.highScore}`);
    assert.deepEqual(r.edit, { method: 'rome', layers: [1] });
  });

  test('text output ends with the original and difference tables; a foreign or broken edit file is one line, exit 2', async () => {
    const text = await run([...TRACE.filter((a) => a !== '--json'), '--kind', 'hidden', '--edit', editFile]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /edit {5}rome at layer 1 /);
    assert.match(text.out, /hidden, difference: edited − original/);

    const edit = JSON.parse(fs.readFileSync(editFile, 'utf8')) as { edit: { model: { fingerprint: string } } };
    edit.edit.model.fingerprint = '0000000000000000';
    fs.writeFileSync(path.join(tmp, 'foreign.json'), JSON.stringify(edit));
    const foreign = await run([...TRACE, '--edit', path.join(tmp, 'foreign.json')]);
    assert.equal(foreign.code, 2);
    assert.match(foreign.err, /^locus trace: --edit .*foreign\.json: the edit was computed on gpt2-facts-trained \(fingerprint 0000000000000000\), not on gpt2-facts-trained/);
    assert.equal(foreign.err.split('\n').length, 1, foreign.err);

    fs.writeFileSync(path.join(tmp, 'broken.json'), '{ "edit": ');
    const broken = await run([...TRACE, '--edit', path.join(tmp, 'broken.json')]);
    assert.equal(broken.code, 2);
    assert.match(broken.err, /^locus trace: --edit .*broken\.json is not valid JSON/);
  });
});
