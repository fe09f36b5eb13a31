import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { defaultDatasetPath, loadCounterFact, loadModel, readResults, STUDY_TRACE, studyPatchingEffect } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { tempDir } from '../helpers/paths';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Two sample facts the embedded model knows, each with a same-relation counterfactual of its subject's token length. */
const CASES = [20952, 3648];

describe('locus study run --localization patching (embedded model, 2 cases × layer 0 × ft)', () => {
  let tmp: string;
  let model: LoadedModel;
  before(async () => {
    tmp = tempDir('locus-patching-study-');
    model = await loadModel('default');
  });
  after(async () => {
    await model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('runs, records the localization in the manifest, stores the patching effect at the edit layer, and analyses', async () => {
    const dir = path.join(tmp, 'study');
    const r = await cli(['study', 'run', '--cases', CASES.join(','), '--methods', 'ft', '--layers', '0', '--localization', 'patching', '--out', dir, '--json']);
    assert.equal(r.code, 0, r.err);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.localization, 'patching');
    assert.equal(manifest.spec.localization, 'patching');
    const rows = readResults(dir);
    assert.deepEqual(rows.map((row) => [row.caseId, row.layer]), CASES.map((id) => [id, 0]));
    const records = loadCounterFact(defaultDatasetPath());
    for (const row of rows) {
      // The row's localization is the MLP patching effect (window 5, max over tokens) at its layer, recomputed here.
      const direct = await studyPatchingEffect(model, records.find((x) => x.case_id === row.caseId)!, records, STUDY_TRACE.window);
      assert.equal(row.tracingEffect, direct.effect[0]);
      assert.equal(row.tracingEffectLastSubject, direct.effectLastSubject[0]);
      assert.ok(row.tracingEffect > 0.1 && row.tracingEffect < 1.5, `patching effect ${row.tracingEffect}`);
    }
    const a = await cli(['study', 'analyze', dir, '--json']);
    assert.equal(a.code, 0, a.err);
    const j = JSON.parse(a.out);
    for (const row of j.rows) assert.deepEqual([row.method, row.n], ['ft', 2]);
    // Resuming under the other localization would mix variables in one folder: refused.
    const mixed = await cli(['study', 'run', '--cases', CASES.join(','), '--methods', 'ft', '--layers', '0', '--out', dir]);
    assert.equal(mixed.code, 2);
    assert.match(mixed.err, /--localization patching/);
  });

  test('an unknown --localization is a usage error before the model loads', async () => {
    const r = await cli(['study', 'run', '--cases', '20952', '--methods', 'ft', '--layers', '0', '--localization', 'gradient', '--out', path.join(tmp, 'bad')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--localization must be one of noise, patching/);
  });
});
