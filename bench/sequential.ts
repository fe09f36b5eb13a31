/**
 * `npm run bench -- sequential [--edits N] [--batch-size k] [--measure-every m] [--methods a,b] [--run-dir DIR]`
 * (issue 18 item 4): N sequential Error Injection edits of known facts of the embedded model (the
 * bundled CounterFact sample, facts the model gets right, in file order) per method — ROME, r-ROME,
 * MEMIT and AlphaEdit, those the engine has — each method on the same facts from the unedited model.
 * Prints the curves' table per method (edits so far vs mean rewrite / paraphrase / neighborhood of
 * all edits so far, WikiText-2 perplexity, largest ‖W‖_F growth) and plots them to
 * bench-output/sequential/sequential-<N>.png.
 *
 * The default N (DEFAULT_EDITS) fits this shared 2-core machine in minutes; the issue's run is
 * `npm run bench -- sequential --edits 200 --measure-every 20` (time it: the table prints seconds per edit).
 * Each method's curve is also saved to bench-output/sequential/<method>-<N>.json and the plot is drawn
 * from every method saved for that N, so methods can run as separate processes (`--methods rome,rrome`
 * and `--methods memit,alphaedit` on two cores) and the last to finish draws all of them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultDatasetPath, EDIT_METHODS, factCaseOf, formatCurveTable, loadCounterFact, loadModel, maxGrowth, resolveStatsCacheDir, runSequential, selectKnown } from '../src/engine/index';
import type { CurvePoint, EditMethod } from '../src/engine/index';
import { linePlotsPng } from './png';
import type { PlotPanel } from './png';

const WANTED = ['rome', 'rrome', 'memit', 'alphaedit'];
export const DEFAULT_EDITS = 24;
const OUT_DIR = path.join('bench-output', 'sequential');

interface SavedCurve {
  readonly method: string;
  readonly edits: number;
  readonly batchSize: number;
  readonly curve: CurvePoint[];
}

/** Every method's curve saved for this N and batch size (this process's and earlier ones'), in WANTED order. */
function savedCurves(edits: number, batchSize: number): Map<string, CurvePoint[]> {
  const out = new Map<string, CurvePoint[]>();
  const files = fs.existsSync(OUT_DIR) ? fs.readdirSync(OUT_DIR).filter((f) => f.endsWith(`-${edits}.json`)) : [];
  const saved = files.map((f) => JSON.parse(fs.readFileSync(path.join(OUT_DIR, f), 'utf8')) as SavedCurve).filter((c) => c.edits === edits && c.batchSize === batchSize);
  saved.sort((a, b) => WANTED.indexOf(a.method) - WANTED.indexOf(b.method));
  for (const c of saved) out.set(c.method, c.curve);
  return out;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export async function benchSequential(threads: number): Promise<void> {
  const edits = Number(flag('edits') ?? DEFAULT_EDITS);
  const batchSize = Number(flag('batch-size') ?? 1);
  const measureEvery = Number(flag('measure-every') ?? Math.max(1, Math.round(edits / batchSize / 6)));
  const wanted = flag('methods')?.split(',') ?? WANTED;
  const runDir = flag('run-dir');
  const known = EDIT_METHODS as readonly string[];
  const methods = wanted.filter((m) => known.includes(m)) as EditMethod[];
  const missing = wanted.filter((m) => !known.includes(m));
  const model = await loadModel('default', { threads });
  try {
    const { records } = await selectKnown(model, loadCounterFact(defaultDatasetPath()), edits);
    const cases = records.map(factCaseOf);
    console.log(`# sequential: intra-op threads ${threads}; ${cases.length} known facts of the embedded model, Error Injection, batches of ${batchSize}, measured every ${measureEvery} batches`);
    if (missing.length) console.log(`not in this build's engine (skipped): ${missing.join(', ')}`);
    fs.mkdirSync(OUT_DIR, { recursive: true });
    for (const method of methods) {
      const t0 = Date.now();
      const res = await runSequential(model, { method, problem: 'error-injection', batchSize, measureEvery, cases, heldOutTokens: 2048 }, {
        cacheDir: resolveStatsCacheDir(undefined),
        // --run-dir DIR: each method's run is saved as it goes (DIR/<method>-<N>) and the same command continues it after a kill.
        ...(runDir === undefined ? {} : { outDir: path.join(runDir, `${method}-${cases.length}`) }),
        // A line per finished batch on stderr: a 200-edit run takes hours, and its ETA is the method's own.
        onProgress: (p) => {
          if (p.stage.endsWith('done')) process.stderr.write(`${method} ${p.stage}${p.etaSeconds === undefined ? '' : `, ETA ${(p.etaSeconds / 60).toFixed(0)} min`}\n`);
        },
      });
      const editSeconds = res.batches.reduce((s, b) => s + b.seconds, 0) / cases.length;
      console.log(`\n## ${method}: ${((Date.now() - t0) / 1000).toFixed(0)} s in all, ${editSeconds.toFixed(1)} s per edit (edit + its measurements), layers ${[...new Set(res.batches.flatMap((b) => b.layers))].join(', ')}`);
      console.log(formatCurveTable(res.curve));
      const saved: SavedCurve = { method, edits: cases.length, batchSize, curve: res.curve };
      fs.writeFileSync(path.join(OUT_DIR, `${method}-${cases.length}.json`), JSON.stringify(saved));
    }
    const curves = savedCurves(cases.length, batchSize);
    const series = (f: (p: CurvePoint) => number | null | undefined): PlotPanel['series'] =>
      [...curves].map(([name, c]) => ({ name, points: c.map((p) => [p.edits, f(p) ?? NaN] as [number, number]).filter(([, y]) => Number.isFinite(y)) }));
    const png = linePlotsPng([
      { title: 'REWRITE', series: series((p) => p.scores?.rewrite) },
      { title: 'PARAPHRASE', series: series((p) => p.scores?.paraphrase) },
      { title: 'NEIGHBORHOOD', series: series((p) => p.scores?.neighborhood) },
      { title: 'PERPLEXITY', series: series((p) => p.perplexity) },
      { title: 'MAX W GROWTH', series: series(maxGrowth) },
    ]);
    const out = path.join(OUT_DIR, `sequential-${cases.length}.png`);
    fs.writeFileSync(out, png);
    console.log(`\nplot of ${[...curves.keys()].join(', ')}: ${path.resolve(out)}`);
  } finally {
    await model.dispose();
  }
}
