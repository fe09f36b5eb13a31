import * as path from 'node:path';
import type { EditingProblem, EditMethod, FolderLock, StudyLocalization, LayerSummary, RegressionRow, StudyProgress, StudyShard } from '../../engine/index';
import { analyzeStudy, checkDirTarget, checkStatsDir, defaultDatasetPath, EDIT_METHODS, EDITING_PROBLEMS, estimateCost, fillPrompt, formatStudyRate, LocusError, loadCounterFact, lockStudy, MAX_STUDY_SEED, mergeStudies, parseCaseSpec, readResults, recordStudyCosts, resolveStatsCacheDir, rowKey, runStudy, selectCases, selectKnown, STUDY_LOCALIZATIONS, studyWork } from '../../engine/index';
import { intFlag, parseFlags, UsageError } from '../args';
import { ESTIMATE_HELP, printEstimate } from '../estimate';
import type { CliIO } from '../io';
import { processIO } from '../io';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, openModel } from '../openModel';

export const studyHelp = `locus study run --cases SPEC --methods ${EDIT_METHODS.join(',')} --layers all|LIST [--problems P,...]
                [--out DIR] [--shard i/n] [--model M] [--dataset FILE] [--seed N]
                [--stats-dir DIR] [--cache DIR] [--localization noise|patching] [--estimate] [--json]
locus study merge DIR... --out DIR
locus study analyze DIR [--json]

The seed paper's regression study (Hase et al. 2023, §4–5): for each fact, one Causal Trace (MLP,
window 5, p(target_true sequence)), then one edit per method × problem × central layer, each measured
and reverted; one line per edit in DIR/results.jsonl, the model and spec in DIR/manifest.json.
  --cases SPEC     case_ids and ranges ("0-99", "12,40") or "known:N" (the first N facts the model knows)
  --layers         "all" or central edit layers "0,2,4" (FT-5 / MEMIT: the centre of a 5-layer window)
  --problems       default error-injection; also tracing-reversal, fact-erasure, fact-amplification,
                   fact-forcing
  --out DIR        default .locus/runs/<model>-<methods>; rerunning into the same DIR resumes
                   (edits already in results.jsonl are skipped); one process writes a folder at a
                   time (DIR/.lock; a lock left by an ended process is taken over); never inside
                   the model's folder. Ctrl-C stops after the current edit and exits 130
  --seed N         seed of the methods' sampling, 0 to ${MAX_STUDY_SEED} (default 0)
  --shard i/n      run only the cases at index % n == i of the --cases list (0 ≤ i < n), e.g. on n
                   machines with the same flags and their own --out; then "locus study merge"
  --stats-dir DIR  ROME/MEMIT's published statistics (DIR/wikipedia_stats/<module>_float32_mom2_<N>.npz),
                   used instead of computing C for the layers they have (as in locus edit)
  --localization   the localization variable: noise (default; Causal Tracing, Gaussian noise on the
                   subject) or patching (MLP activation patching, window 5, from a counterfactual subject
                   of the same relation and token length: see "locus patch --help"); recorded in the manifest
  --cache DIR      statistics cache for rome/memit (default ~/.cache/locus/stats, or $XDG_CACHE_HOME/locus/stats)
${ESTIMATE_HELP}
                        (edits already in --out are not counted; known:N is counted as the dataset's
                        first N cases, without the search for known facts)
${MODEL_FLAGS_HELP}
merge: the union of study folders (identical duplicates kept once; different numbers are an error).
analyze: per method × problem × metric, R² of the score on factor(layer), on layer + layer × tracing
  effect, and the gain (JSON: { rows: [{ method, problem, metric, n, r2Layer, r2LayerTracing, r2Gain,
  r2Tracing, pValue }], perLayer: [{ method, problem, layer, n, tracingEffect, rewrite, ... : { mean, lo, hi, n } }] }).
  A results.jsonl that holds one key (case, method, problem, layer) twice is refused.`;

const list = (v: string | undefined, name: string): string[] => {
  const items = (v ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`--${name} is required (see "locus study --help")`);
  return items;
};

function parseShard(v: string | undefined): StudyShard | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard must be i/n with 0 ≤ i < n (got "${v}")`);
  return { i: Number(m[1]), n: Number(m[2]) };
}

const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

async function runCmd(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(argv, {
    cases: { type: 'string' }, methods: { type: 'string' }, layers: { type: 'string' }, problems: { type: 'string' }, out: { type: 'string' }, shard: { type: 'string' },
    dataset: { type: 'string' }, seed: { type: 'string' }, cache: { type: 'string' }, 'stats-dir': { type: 'string' }, json: { type: 'boolean' }, localization: { type: 'string' }, estimate: { type: 'boolean' }, ...MODEL_FLAGS,
  }, 'study run');
  if (values.help) return io.out(studyHelp);
  const v = values as Record<string, string | boolean | undefined>;
  // Everything the flags alone decide is checked before the model loads: a typo costs a second.
  const methods = [...new Set(list(v['methods'] as string | undefined, 'methods'))] as EditMethod[];
  for (const m of methods) if (!EDIT_METHODS.includes(m)) throw new UsageError(`--methods: "${m}" is not one of ${EDIT_METHODS.join(', ')}`);
  const problems = [...new Set(v['problems'] === undefined ? ['error-injection'] : list(v['problems'] as string, 'problems'))] as EditingProblem[];
  for (const p of problems) if (!EDITING_PROBLEMS.includes(p)) throw new UsageError(`--problems: "${p}" is not one of ${EDITING_PROBLEMS.join(', ')}`);
  const layersText = list(v['layers'] as string | undefined, 'layers');
  const shard = parseShard(v['shard'] as string | undefined);
  const spec = parseCaseSpec(list(v['cases'] as string | undefined, 'cases').join(','));
  const seed = intFlag(v['seed'] as string | undefined, 'seed', 0, 0, MAX_STUDY_SEED);
  const localization = (v['localization'] ?? 'noise') as StudyLocalization;
  if (!STUDY_LOCALIZATIONS.includes(localization)) throw new UsageError(`--localization must be one of ${STUDY_LOCALIZATIONS.join(', ')}`);
  const outFlag = v['out'] as string | undefined;
  if (outFlag !== undefined) checkDirTarget(outFlag, '--out');
  const statsDir = v['stats-dir'] as string | undefined;
  if (statsDir !== undefined) checkStatsDir(statsDir);
  const dataset = path.resolve((v['dataset'] as string | undefined) ?? defaultDatasetPath());
  const all = loadCounterFact(dataset);
  const model = await openModel(values, io);
  const tty = !v['json'] && io === processIO && process.stderr.isTTY === true;
  const controller = new AbortController();
  const onSigint = (): void => {
    // On a terminal, say at once that the key was heard (an edit can take a minute); the last line says how to resume.
    if (io === processIO && process.stderr.isTTY === true) io.err('\nlocus study: stopping after the current step');
    controller.abort();
  };
  let lock: FolderLock | undefined;
  try {
    const L = model.config.n_layers;
    const layers = layersText.length === 1 && layersText[0] === 'all' ? Array.from({ length: L }, (_, l) => l) : [...new Set(layersText.map((s) => intFlag(s, 'layers', 0, 0, L - 1)))];
    const outDir = path.resolve(outFlag ?? path.join('.locus', 'runs', `${model.manifest.name}-${methods.join('-')}`.replace(/[^\w.-]+/g, '_')));
    const studyLocalization = localization === 'patching' ? { localization } : {};
    if (v['estimate']) {
      const chosen = spec.kind === 'ids' ? selectCases(all, spec, dataset) : all.slice(0, spec.n);
      const work = studyWork(model, { cases: chosen.map((r) => r.case_id), methods, problems, layers, ...studyLocalization }, chosen, { outDir, shard });
      const est = await estimateCost(model, work, { calibrationPrompt: chosen[0] && fillPrompt(chosen[0]), signal: controller.signal });
      const note = spec.kind === 'ids' ? est.note : `${est.note}; known:${spec.n} counted as the dataset's first ${spec.n} cases, without the search for known facts`;
      return printEstimate(io, 'study', { ...est, note }, v['json'] === true);
    }
    // Checked against the model's folder and locked before the (possibly slow) case selection.
    lock = lockStudy(model, outDir, '--out');
    if (lock.tookOver) io.err(`note: ${outDir} was locked by process ${lock.tookOver.pid} (started ${lock.tookOver.started}), which has ended; taking the folder over`);
    process.once('SIGINT', onSigint);
    const records = spec.kind === 'ids' ? selectCases(all, spec, dataset) : (await selectKnown(model, all, spec.n, { signal: controller.signal })).records;
    if (controller.signal.aborted) throw interrupted();
    if (records.length === 0) throw new LocusError('bad-input', `--cases selects no record of ${dataset}`);
    const t0 = Date.now();
    const progress = (p: StudyProgress): void => {
      if (!tty) return;
      const rate = formatStudyRate(p);
      process.stderr.write(`\r\x1b[K${p.done}/${p.total}${rate === '' ? '' : ` (${rate})`} — ${p.stage}`);
    };
    const studySpec = { cases: records.map((r) => r.case_id), methods, problems, layers, dataset, seed, ...studyLocalization };
    // What this session will run, and what the folder held before it: after it, this machine's costs are recorded for the next --estimate.
    const planned = studyWork(model, studySpec, records, { outDir, shard });
    const before = new Set(readResults(outDir).map(rowKey));
    const summary = await runStudy(model, studySpec, {
      outDir, shard, signal: controller.signal, onProgress: progress, cacheDir: resolveStatsCacheDir(v['cache'] as string | undefined), statsDir, outFlag: '--out', lock,
    });
    if (tty) process.stderr.write('\r\x1b[K');
    if (!summary.cancelled) recordStudyCosts(model, planned, readResults(outDir).filter((r) => !before.has(rowKey(r))), (Date.now() - t0) / 1000);
    if (v['json']) io.out(JSON.stringify({ ...summary, seconds: (Date.now() - t0) / 1000 }, null, 2));
    else io.out(`${summary.cancelled ? 'stopped' : 'done'}: ${summary.resumed + summary.ran}/${summary.total} edits in ${summary.outDir} (${summary.ran} run now, ${summary.resumed} resumed)`);
    // Ctrl-C is not success: exit 130 like any interrupted command, once the finished rows are safe.
    if (summary.cancelled) throw interrupted();
  } catch (e) {
    if (controller.signal.aborted && !(e instanceof LocusError && e.code !== 'cancelled')) throw interrupted();
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
    lock?.release();
    await model.dispose();
  }
}

const interrupted = (): LocusError => new LocusError('cancelled', 'interrupted; resume with the same command');

function mergeCmd(argv: string[], io: CliIO): void {
  const { values, positionals } = parseFlags(argv, { out: { type: 'string' }, json: { type: 'boolean' } }, 'study merge');
  if (values.help) return io.out(studyHelp);
  if (values.out === undefined) throw new UsageError('--out DIR is required (see "locus study --help")');
  if (positionals.length === 0) throw new UsageError('give the study folders to merge (see "locus study --help")');
  const s = mergeStudies(positionals, values.out as string);
  if (values.json) return io.out(JSON.stringify(s, null, 2));
  io.out(`merged ${positionals.length} folders: ${s.rows} results (${s.duplicates} identical duplicates) in ${s.outDir}`);
}

function table(rows: readonly RegressionRow[], perLayer: readonly LayerSummary[]): string[] {
  const lines = [`${'method'.padEnd(7)} ${'problem'.padEnd(19)} ${'metric'.padEnd(13)} ${'n'.padStart(6)} ${'layer'.padStart(7)} ${'tracing'.padStart(8)} ${'both'.padStart(7)} ${'gain'.padStart(7)} ${'p'.padStart(7)}`];
  for (const r of rows) lines.push(`${r.method.padEnd(7)} ${r.problem.padEnd(19)} ${r.metric.padEnd(13)} ${String(r.n).padStart(6)} ${fmt(r.r2Layer).padStart(7)} ${fmt(r.r2Tracing).padStart(8)} ${fmt(r.r2LayerTracing).padStart(7)} ${fmt(r.r2Gain).padStart(7)} ${(Number.isFinite(r.pValue) && r.pValue < 1e-4 ? '<1e-4' : fmt(r.pValue)).padStart(7)}`);
  lines.push('', 'per layer: mean [95% CI]');
  const ci = (c: LayerSummary['rewrite']): string => `${fmt(c.mean)} [${fmt(c.lo)}, ${fmt(c.hi)}]`;
  for (const p of perLayer) lines.push(`${p.method.padEnd(7)} ${p.problem.padEnd(19)} layer ${String(p.layer).padStart(2)}  n ${String(p.n).padStart(4)}  tracing ${ci(p.tracingEffect)}  rewrite ${ci(p.rewrite)}  overall ${ci(p.overall)}`);
  return lines;
}

function analyzeCmd(argv: string[], io: CliIO): void {
  const { values, positionals } = parseFlags(argv, { json: { type: 'boolean' } }, 'study analyze');
  if (values.help) return io.out(studyHelp);
  if (positionals.length !== 1) throw new UsageError('give one study folder (see "locus study --help")');
  const a = analyzeStudy(positionals[0]);
  if (values.json) return io.out(JSON.stringify({ dir: a.dir, model: a.manifest.model, rows: a.rows, perLayer: a.perLayer }, null, 2));
  io.out(`${a.dir}: ${a.manifest.model.name}; R² of each score on layer, on tracing effect, on both (layer × tracing), and the gain`);
  for (const line of table(a.rows, a.perLayer)) io.out(line);
}

export async function studyCommand(argv: string[], io: CliIO): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') return io.out(studyHelp);
  if (sub === 'run') return runCmd(rest, io);
  if (sub === 'merge') return mergeCmd(rest, io);
  if (sub === 'analyze') return analyzeCmd(rest, io);
  throw new UsageError(`unknown subcommand "${sub}"; use run, merge or analyze (see "locus study --help")`);
}
