/**
 * `npm run bench -- sequential [--edits N] [--batch-size k] [--measure-every m] [--methods a,b]`
 * (issue 18 item 4): N sequential Error Injection edits of known facts of the embedded model (the
 * bundled CounterFact sample, facts the model gets right, in file order) per method — ROME, r-ROME,
 * MEMIT and AlphaEdit, those the engine has — each method on the same facts from the unedited model.
 * Prints the curves' table per method (edits so far vs mean rewrite / paraphrase / neighborhood of
 * all edits so far, WikiText-2 perplexity, largest ‖W‖_F growth) and plots them to
 * bench-output/sequential.png.
 *
 * The default N (DEFAULT_EDITS) fits this shared 2-core machine in minutes; the issue's run is
 * `npm run bench -- sequential --edits 200 --measure-every 20` (time it: the table prints seconds per edit).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultDatasetPath, EDIT_METHODS, factCaseOf, formatCurveTable, loadCounterFact, loadModel, maxGrowth, resolveStatsCacheDir, runSequential, selectKnown } from '../src/engine/index';
import type { CurvePoint, EditMethod } from '../src/engine/index';
import { linePlotsPng } from './png';
import type { PlotPanel } from './png';

const WANTED = ['rome', 'rrome', 'memit', 'alphaedit'];
export const DEFAULT_EDITS = 24;
const OUT = path.join('bench-output', 'sequential.png');

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export async function benchSequential(threads: number): Promise<void> {
  const edits = Number(flag('edits') ?? DEFAULT_EDITS);
  const batchSize = Number(flag('batch-size') ?? 1);
  const measureEvery = Number(flag('measure-every') ?? Math.max(1, Math.round(edits / batchSize / 6)));
  const wanted = flag('methods')?.split(',') ?? WANTED;
  const known = EDIT_METHODS as readonly string[];
  const methods = wanted.filter((m) => known.includes(m)) as EditMethod[];
  const missing = wanted.filter((m) => !known.includes(m));
  const model = await loadModel('default', { threads });
  try {
    const { records } = await selectKnown(model, loadCounterFact(defaultDatasetPath()), edits);
    const cases = records.map(factCaseOf);
    console.log(`# sequential: intra-op threads ${threads}; ${cases.length} known facts of the embedded model, Error Injection, batches of ${batchSize}, measured every ${measureEvery} batches`);
    if (missing.length) console.log(`not in this build's engine (skipped): ${missing.join(', ')}`);
    const curves = new Map<string, CurvePoint[]>();
    for (const method of methods) {
      const t0 = Date.now();
      const res = await runSequential(model, { method, problem: 'error-injection', batchSize, measureEvery, cases, heldOutTokens: 2048 }, { cacheDir: resolveStatsCacheDir(undefined) });
      const editSeconds = res.batches.reduce((s, b) => s + b.seconds, 0) / cases.length;
      console.log(`\n## ${method}: ${((Date.now() - t0) / 1000).toFixed(0)} s in all, ${editSeconds.toFixed(1)} s per edit (edit + its measurements), layers ${[...new Set(res.batches.flatMap((b) => b.layers))].join(', ')}`);
      console.log(formatCurveTable(res.curve));
      curves.set(method, res.curve);
    }
    const series = (f: (p: CurvePoint) => number | null | undefined): PlotPanel['series'] =>
      [...curves].map(([name, c]) => ({ name, points: c.map((p) => [p.edits, f(p) ?? NaN] as [number, number]).filter(([, y]) => Number.isFinite(y)) }));
    const png = linePlotsPng([
      { title: 'REWRITE', series: series((p) => p.scores?.rewrite) },
      { title: 'PARAPHRASE', series: series((p) => p.scores?.paraphrase) },
      { title: 'NEIGHBORHOOD', series: series((p) => p.scores?.neighborhood) },
      { title: 'PERPLEXITY', series: series((p) => p.perplexity) },
      { title: 'MAX W GROWTH', series: series(maxGrowth) },
    ]);
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, png);
    console.log(`\nplot: ${path.resolve(OUT)}`);
  } finally {
    await model.dispose();
  }
}
