import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { attributionPreview, loadModel } from '../../src/engine/index';
import type { TraceKind } from '../../src/engine/index';
import type { JobProgress } from '../../src/protocol/engine';
import { traceHandlers } from '../../src/worker/handlers/trace';
import type { JobContext } from '../../src/worker/jobs';
import { WorkerState } from '../../src/worker/state';

/**
 * `trace/run` with `preview` (issue 19 item 4) on the embedded model: the first report carries the
 * attribution preview — exactly the engine's attributionPreview of the same request — before any exact
 * cell; every cell the trace runs then arrives once, with the score the final grid holds; and the final
 * answer is a plain trace's, bit for bit (the preview changes nothing the trace computes).
 */
describe('trace/run with the attribution preview (worker, embedded model)', () => {
  let state: WorkerState;
  const kinds: TraceKind[] = ['hidden', 'mlp', 'attn'];
  const req = { prompt: 'Angola is located in', subject: 'Angola', kinds, samples: 3, window: 3 };
  const quiet: JobContext = { signal: new AbortController().signal, progress: () => undefined };

  before(async () => {
    state = new WorkerState();
    await state.setModel(await loadModel('default', { threads: 1 }));
    await state.prepared();
  });
  after(async () => state.dispose());

  test('preview first, then every exact cell once; the final grid is a plain trace', async () => {
    const reports: Array<Omit<JobProgress, 'kind'>> = [];
    // maxRows 6: two cells (3 samples each) per batch, so the cells come in many reports.
    const r = await traceHandlers(state)['trace/run']({ ...req, preview: true, maxRows: 6 }, { ...quiet, progress: (p) => reports.push(p) });

    const firstStream = reports.findIndex((p) => p.trace !== undefined);
    const preview = reports[firstStream].trace?.preview;
    assert.ok(preview, 'the first streamed report is the preview');
    assert.ok(reports.slice(0, firstStream).every((p) => p.done === undefined || p.done === 0), 'no exact cell before the preview');
    assert.equal(reports.filter((p) => p.trace?.preview).length, 1);
    const engine = await attributionPreview(state.requireModel(), { prompt: req.prompt, subject: req.subject, kinds, window: req.window });
    const { seconds: _s1, ...sent } = preview;
    const { seconds: _s2, ...expected } = engine;
    assert.deepEqual(sent, expected);
    assert.equal(preview.approximate, true);

    const cells = reports.flatMap((p) => p.trace?.cells ?? []);
    assert.ok(reports.filter((p) => p.trace?.cells).length > 2, 'cells arrive over several reports');
    assert.equal(cells.length, r.cells);
    const seen = new Set(cells.map((c) => `${c.kind} ${c.t} ${c.layer}`));
    assert.equal(seen.size, cells.length, 'each cell once');
    for (const c of cells) assert.equal(c.score, r.grids[c.kind]!.scores[c.t][c.layer], `${c.kind} (${c.t}, ${c.layer})`);

    const plain = await traceHandlers(state)['trace/run']({ ...req }, quiet);
    assert.deepEqual(r.grids, plain.grids);
    assert.equal(r.highScore, plain.highScore);
    assert.equal(r.lowScore, plain.lowScore);
    assert.deepEqual(r.tracingEffect, plain.tracingEffect);
  });

  test('without `preview` no grid data travels in the reports', async () => {
    const reports: Array<Omit<JobProgress, 'kind'>> = [];
    await traceHandlers(state)['trace/run']({ ...req, kinds: ['hidden'] }, { ...quiet, progress: (p) => reports.push(p) });
    assert.ok(reports.length > 0);
    assert.ok(reports.every((p) => p.trace === undefined));
  });
});
