/** `locus trace --estimate` and `locus study run --estimate` (issue 19 item 5): print the preview, run nothing; a finished trace makes the next estimate measured. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { tempDir } from '../helpers/paths';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const TRACE = ['trace', '--prompt', 'The Space Needle is located in the city of', '--subject', 'The Space Needle', '--kind', 'mlp', '--samples', '2'];

describe('--estimate (embedded model)', () => {
  let tmp: string;
  let savedXdg: string | undefined;
  before(() => {
    tmp = tempDir('locus-cost-cli-');
    // The cost file lives in the user-level cache: point it at this test's folder.
    savedXdg = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = tmp;
  });
  after(() => {
    if (savedXdg === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedXdg;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('trace: calibrated before any trace, measured after one; the JSON counts the cells the trace then reports', async () => {
    const cold = await cli([...TRACE, '--estimate', '--json']);
    assert.equal(cold.code, 0, cold.err);
    const c = JSON.parse(cold.out);
    assert.equal(c.basis, 'calibrated');
    assert.equal(c.work.kind, 'trace');
    assert.ok(c.seconds > 0);
    const ran = await cli([...TRACE, '--json']);
    assert.equal(ran.code, 0, ran.err);
    const r = JSON.parse(ran.out);
    assert.equal(c.work.cells, r.cells);
    assert.equal(c.work.runs, r.cells * r.samples);
    assert.ok(fs.existsSync(path.join(tmp, 'locus', 'cost.json')));
    const warm = await cli([...TRACE, '--estimate']);
    assert.equal(warm.code, 0, warm.err);
    assert.match(warm.out, /^trace grid: 1 kind × \d+ layers × \d+ tokens = \d+ cells × 2 samples = \d+ runs/);
    assert.match(warm.out, /measured: measured on this machine/);
  });

  test('study run: counts edits and traces, writes no folder, and refuses --edit with trace --estimate', async () => {
    const out = path.join(tmp, 'study');
    const r = await cli(['study', 'run', '--cases', '20952,3648', '--methods', 'ft,rome', '--layers', '0,1,2', '--out', out, '--estimate', '--json']);
    assert.equal(r.code, 0, r.err);
    const e = JSON.parse(r.out);
    assert.equal(e.work.kind, 'study');
    assert.deepEqual([e.work.units, e.work.done, e.work.edits.ft, e.work.edits.rome, e.work.traces], [12, 0, 6, 6, 2]);
    assert.ok(['measured', 'calibrated'].includes(e.basis));
    assert.equal(fs.existsSync(out), false);
    const bad = await cli([...TRACE, '--edit', path.join(tmp, 'x.json'), '--estimate']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--estimate does not cover --edit/);
  });
});
