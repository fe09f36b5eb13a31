/**
 * The cost preview (issue 19 item 5): the work counted before a trace grid, sweep or study equals what
 * the engine then runs (on the embedded model), and recorded costs are read back into the estimate.
 * No timed assertions: seconds are checked only as arithmetic on recorded values.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultDatasetPath, estimateCost, factCaseOf, loadCounterFact, loadModel, measuredCost, recordCost, runCausalTrace, runStudy, runSweep, STUDY_TRACE, studyWork, sweepWork, traceWork } from '../../src/engine/index';
import type { CounterFactRecord, LoadedModel } from '../../src/engine/index';
import { tempDir } from '../helpers/paths';

describe('cost preview: work counts and recorded costs (embedded model)', () => {
  let tmp: string;
  let model: LoadedModel;
  let records: CounterFactRecord[];
  before(async () => {
    tmp = tempDir('locus-cost-');
    model = await loadModel('default');
    records = loadCounterFact(defaultDatasetPath());
  });
  after(async () => {
    await model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('a trace grid: cells and runs equal the trace that then runs (two kinds, 2 samples)', async () => {
    const req = { prompt: 'The Space Needle is located in the city of', subject: 'The Space Needle', kinds: ['mlp', 'hidden'] as const, samples: 2 };
    const work = traceWork(model, req);
    let total = -1;
    const r = await runCausalTrace(model, req, { onProgress: (p) => (total = p.total) });
    assert.equal(work.cells, r.cells);
    assert.equal(total, r.cells);
    assert.equal(work.runs, r.cells * r.samples);
    assert.equal(work.layers, model.config.n_layers);
    assert.equal(work.tokens, r.tokens.length - r.subjectRange[0]);
    assert.equal(work.cells, 2 * work.tokens * work.layers);
  });

  test("a study: edits and traces left, the trace's runs, and a resumed folder's done units", async () => {
    const rec = records[0];
    const dir = path.join(tmp, 'study');
    const spec = { cases: [rec.case_id], methods: ['ft' as const], problems: ['error-injection' as const], layers: [0], dataset: defaultDatasetPath(), seed: 0 };
    const before1 = studyWork(model, spec, records, { outDir: dir });
    assert.deepEqual([before1.units, before1.done, before1.edits.ft, before1.traces], [1, 0, 1, 1]);
    const fact = factCaseOf(rec);
    const trace = await runCausalTrace(model, { prompt: fact.prompt.replace('{}', fact.subject), subject: fact.subject, target: fact.target_true.str, ...STUDY_TRACE });
    assert.equal(before1.runs, trace.cells * trace.samples);
    const summary = await runStudy(model, spec, { outDir: dir, cacheDir: path.join(tmp, 'stats') });
    assert.equal(summary.ran, before1.units - before1.done);
    // Resuming with one more layer: the done unit is counted off, the case is traced again for the new one.
    const resumed = studyWork(model, { ...spec, layers: [0, 1] }, records, { outDir: dir });
    assert.deepEqual([resumed.units, resumed.done, resumed.edits.ft, resumed.traces, resumed.runs], [2, 1, 1, 1, before1.runs]);
    const finished = studyWork(model, spec, records, { outDir: dir });
    assert.deepEqual([finished.done, finished.edits.ft ?? 0, finished.traces, finished.runs], [1, 0, 0, 0]);
  });

  test('a sweep: methods × layers edits, as its progress counts them', async () => {
    const fact = factCaseOf(records[0]);
    const work = sweepWork(model, { prompt: fact.prompt, subject: fact.subject, methods: ['ft'], layers: 1 });
    let total = -1;
    await runSweep(model, { fact, methods: ['ft'], problem: 'error-injection', layers: [0], cacheDir: path.join(tmp, 'stats') }, { onProgress: (p) => (total = p.total) });
    assert.equal(work.edits, total);
    const trace = await runCausalTrace(model, { prompt: fact.prompt.replace('{}', fact.subject), subject: fact.subject, target: fact.target_true.str, ...STUDY_TRACE });
    assert.equal(work.trace.cells, trace.cells);
  });

  test('a recorded cost is read back and prices the estimate; nothing recorded calibrates and says so', async () => {
    const file = path.join(tmp, 'cache', 'cost.json');
    const work = traceWork(model, { prompt: 'The Space Needle is located in the city of', subject: 'The Space Needle' });
    const cold = await estimateCost(model, work, { file });
    assert.equal(cold.basis, 'calibrated');
    assert.match(cold.note, /calibration run/);
    assert.ok(cold.seconds > 0);
    assert.equal(measuredCost(model, 'restored-run', file), undefined);
    assert.equal(recordCost(model, 'restored-run', 3, 1000, file), true);
    assert.equal(measuredCost(model, 'restored-run', file)?.seconds, 0.003);
    const warm = await estimateCost(model, work, { file });
    assert.equal(warm.basis, 'measured');
    assert.ok(Math.abs(warm.seconds - 0.003 * work.runs) < 1e-12);
    // A second run moves the mean (two runs: their mean), and an edit method is a cost of its own.
    recordCost(model, 'restored-run', 5, 1000, file);
    assert.ok(Math.abs(measuredCost(model, 'restored-run', file)!.seconds - 0.004) < 1e-12);
    assert.equal(measuredCost(model, 'edit:rome', file), undefined);
    // An unreadable file reads as nothing measured; a failed write reports false instead of throwing.
    fs.writeFileSync(file, 'not json');
    assert.equal(measuredCost(model, 'restored-run', file), undefined);
    assert.equal(recordCost(model, 'restored-run', 1, 1, path.join(file, 'under-a-file.json')), false);
  });
});
