import * as path from 'node:path';
import { factCaseOf, loadModel } from '../src/engine/index';
import type { EditMethod } from '../src/engine/methods/edit/runEdit';
import { runEdit } from '../src/engine/methods/edit/runEdit';
import { defaultDatasetPath, loadCounterFact } from '../src/engine/data/counterfact';
import { selectKnown } from '../src/engine/methods/evaluate/knownFacts';

/**
 * `npm run bench -- quality [N=50]`: Error Injection on the first N CounterFact records the embedded
 * model knows, each method at its default layer; prints the mean normalized scores (issue 5's check).
 * LOCUS_QUALITY_N, LOCUS_QUALITY_METHODS (comma list) and LOCUS_QUALITY_MODEL (a model folder) override the defaults.
 * Not a speed benchmark, but it lives here because it takes minutes and is never part of the tests.
 */
export async function benchQuality(threads: number, n = Number(process.env.LOCUS_QUALITY_N ?? 50)): Promise<void> {
  const model = await loadModel(process.env.LOCUS_QUALITY_MODEL ?? 'default', { threads });
  const records = loadCounterFact(defaultDatasetPath());
  const known = (await selectKnown(model, records, n)).records;
  const cacheDir = path.join('.locus', 'stats');
  const methods = (process.env.LOCUS_QUALITY_METHODS ?? 'rome,memit,ft,ft5').split(',') as EditMethod[];
  for (const method of methods) {
    const sums = { rewrite: 0, paraphrase: 0, neighborhood: 0, overall: 0, efficacy: 0 };
    const t0 = Date.now();
    let layers: readonly number[] = [];
    let statsNote = '';
    for (const r of known) {
      const out = await runEdit(model, {
        method,
        problem: 'error-injection',
        cacheDir,
        cases: [factCaseOf(r)],
      });
      layers = out.layers;
      statsNote ||= out.notes.find((note) => note.startsWith('key statistics')) ?? '';
      sums.rewrite += out.metrics.rewrite;
      sums.paraphrase += out.metrics.paraphrase;
      sums.neighborhood += out.metrics.neighborhood;
      sums.overall += out.metrics.overall;
      sums.efficacy += out.romeMetrics.efficacy;
    }
    const k = known.length;
    console.log(
      `${method.padEnd(5)} layers ${layers.join(',')}: rewrite ${(sums.rewrite / k).toFixed(3)}  paraphrase ${(sums.paraphrase / k).toFixed(3)}  neighborhood ${(sums.neighborhood / k).toFixed(3)}  overall ${(sums.overall / k).toFixed(3)}  ROME efficacy ${(sums.efficacy / k).toFixed(3)}  (${k} known facts, ${((Date.now() - t0) / 1000 / k).toFixed(1)} s/edit)${statsNote ? `; ${statsNote}` : ''}`,
    );
  }
  await model.dispose();
}
