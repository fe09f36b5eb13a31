/**
 * `locus study run`: the seed paper's editing sweep joined with its tracing (research/seed-paper.md
 * §6.1). Per fact: one Causal Trace (MLP, window 5, p(whole " " + target_true) — §2, §2.1), then for
 * every method × problem × central layer one edit, measured and reverted by runEdit, and one line in
 * results.jsonl. Resumable: units already in results.jsonl are skipped. One writer at a time: the
 * folder is locked (lock.ts) while the run writes, and every key is run and written once.
 */
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { checkDirTarget } from '../../files/writeTarget';
import type { LoadedModel } from '../../model/model';
import type { CounterFactRecord } from '../../data/counterfact';
import { loadCounterFact } from '../../data/counterfact';
import { runEdit } from '../edit/runEdit';
import type { EditJob } from '../edit/runEdit';
import type { EditMethod } from '../registry/index';
import type { EditingProblem, FactCase } from '../problems/problems';
import { LOCKSTEP_CASES, prefetchStudyValueStars } from './lockstep';
import { EditReuse } from '../edit/editReuse';
import { factCaseOf } from '../problems/problems';
import { engineVersion, MANIFEST, readManifest, readResults, ResultWriter, writeJsonAtomic } from './store';
import type { StudyManifest, StudyProgress, StudyRow, StudyShard, StudySpec } from './types';
import { rowKey, shardCases, studyRate } from './types';
import type { FolderLock, LockHolder } from './lock';
import { lockFolder } from './lock';
import { STUDY_TRACE, studyMetricsByProtocol, studyMetricsOf, studyTracingEffect } from './sweep';
import { STUDY_LOCALIZATIONS, studyPatchingEffect } from '../patching/studyEffect';
import { resolveStatsCacheDir } from '../stats/cacheLocation';

export interface StudyRunOptions {
  readonly outDir: string;
  readonly shard?: StudyShard;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: StudyProgress) => void;
  /** Second-moment statistics cache for ROME / MEMIT (default: the user-level cache, stats/cacheLocation.ts). */
  readonly cacheDir?: string;
  /** ROME/MEMIT published statistics (`--stats-dir`), used instead of computing C where they have a layer. */
  readonly statsDir?: string;
  /** How messages name `outDir` (the CLI: "--out"; default "study folder"). */
  readonly outFlag?: string;
  /**
   * The folder's lock, when the caller took it already (`lockStudy`, e.g. before a slow case selection);
   * the caller releases it. Without it, runStudy locks the folder itself for the run.
   */
  readonly lock?: FolderLock;
}

export interface StudyRunSummary {
  readonly outDir: string;
  readonly total: number;
  readonly resumed: number;
  readonly ran: number;
  readonly cancelled: boolean;
  /** A stale lock (its process had ended) that this run took over. */
  readonly tookOverLock?: LockHolder;
}

/** RandomState (NumPy's MT19937) takes a 32-bit seed. */
export const MAX_STUDY_SEED = 0xffffffff;

/** The spec with each case, method, problem and layer once, in first-seen order: a repeat would be the same key twice. */
export function dedupeSpec(spec: StudySpec): StudySpec {
  const once = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
  return { ...spec, cases: once(spec.cases), methods: once(spec.methods), problems: once(spec.problems), layers: once(spec.layers) };
}

/**
 * Checks `outDir` as a place to write (not a file, not under one, writable, not a system folder, not in
 * the model's folder) and locks it. Call before any model work; release the lock when done.
 */
export function lockStudy(model: LoadedModel, outDir: string, outFlag = 'study folder'): FolderLock {
  checkDirTarget(outDir, outFlag, { modelDir: model.manifest.path });
  return lockFolder(outDir, outFlag);
}

function checkSpec(model: LoadedModel, spec: StudySpec, shard?: StudyShard): void {
  const L = model.config.n_layers;
  const bad = spec.layers.find((l) => !Number.isInteger(l) || l < 0 || l >= L);
  if (bad !== undefined) throw new LocusError('bad-input', `layer ${bad} is outside 0..${L - 1}`);
  if (spec.cases.length === 0 || spec.methods.length === 0 || spec.problems.length === 0 || spec.layers.length === 0) {
    throw new LocusError('bad-input', 'a study needs at least one case, method, problem and layer');
  }
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0 || spec.seed > MAX_STUDY_SEED) {
    throw new LocusError('bad-input', `seed ${spec.seed} must be an integer from 0 to ${MAX_STUDY_SEED} (a 32-bit NumPy RandomState seed)`);
  }
  if (spec.localization !== undefined && !STUDY_LOCALIZATIONS.includes(spec.localization)) throw new LocusError('bad-input', `localization "${String(spec.localization)}" is not one of ${STUDY_LOCALIZATIONS.join(', ')}`);
  if (shard && !(Number.isInteger(shard.n) && shard.n >= 1 && Number.isInteger(shard.i) && shard.i >= 0 && shard.i < shard.n)) {
    throw new LocusError('bad-input', `shard ${shard.i}/${shard.n}: need 0 ≤ i < n`);
  }
}

/** The folder's manifest: written on the first run; a resumed run must use the same model. */
function ensureManifest(model: LoadedModel, spec: StudySpec, opts: StudyRunOptions): void {
  const existing = readManifest(opts.outDir);
  if (existing) {
    if (existing.model.fingerprint !== model.manifest.fingerprint) {
      throw new LocusError('bad-input', `${opts.outDir} holds a study of ${existing.model.name} (${existing.model.fingerprint}), not of ${model.manifest.name} (${model.manifest.fingerprint}); use another --out`);
    }
    if ((existing.localization ?? 'noise') !== (spec.localization ?? 'noise')) {
      throw new LocusError('bad-input', `${opts.outDir} holds a study with --localization ${existing.localization ?? 'noise'}; resume it with the same --localization or use another --out`);
    }
    if (existing.shard?.i !== opts.shard?.i || existing.shard?.n !== opts.shard?.n) {
      throw new LocusError('bad-input', `${opts.outDir} holds shard ${existing.shard ? `${existing.shard.i}/${existing.shard.n}` : 'none'}; resume it with the same --shard`);
    }
    return;
  }
  const manifest: StudyManifest = { kind: 'locus-study', format: 1, engineVersion: engineVersion(), model: model.manifest, spec, ...(opts.shard ? { shard: opts.shard } : {}), localization: spec.localization ?? 'noise', started: new Date().toISOString() };
  writeJsonAtomic(path.join(opts.outDir, MANIFEST), manifest);
}

export async function runStudy(model: LoadedModel, wanted: StudySpec, opts: StudyRunOptions): Promise<StudyRunSummary> {
  const spec = dedupeSpec(wanted);
  checkSpec(model, spec, opts.shard);
  checkDirTarget(opts.outDir, opts.outFlag ?? 'study folder', { modelDir: model.manifest.path });
  const records = loadCounterFact(spec.dataset);
  const byId = new Map(records.map((r) => [r.case_id, r]));
  const missing = spec.cases.filter((id) => !byId.has(id));
  if (missing.length > 0) throw new LocusError('not-found', `no record in ${spec.dataset} has case_id ${missing.slice(0, 5).join(', ')}`);
  if (opts.lock && opts.lock.dir !== path.resolve(opts.outDir)) throw new Error(`runStudy: the lock is on ${opts.lock.dir}, not on ${opts.outDir}`);
  const lock = opts.lock ?? lockFolder(opts.outDir, opts.outFlag);
  try {
    const summary = await runLocked(model, spec, byId, opts);
    return lock.tookOver ? { ...summary, tookOverLock: lock.tookOver } : summary;
  } finally {
    if (!opts.lock) lock.release();
  }
}

async function runLocked(model: LoadedModel, spec: StudySpec, byId: ReadonlyMap<number, CounterFactRecord>, opts: StudyRunOptions): Promise<StudyRunSummary> {
  ensureManifest(model, spec, opts);

  const mine = shardCases(spec.cases, opts.shard);
  const units = (id: number) => spec.methods.flatMap((method) => spec.problems.flatMap((problem) => spec.layers.map((layer) => ({ caseId: id, method, problem, layer }))));
  const done = new Set(readResults(opts.outDir).map(rowKey));
  const total = mine.length * spec.methods.length * spec.problems.length * spec.layers.length;
  const resumed = mine.reduce((n, id) => n + units(id).filter((u) => done.has(rowKey(u))).length, 0);
  let finished = resumed;
  let ran = 0;
  const started = Date.now();
  const report = (stage: string): void => opts.onProgress?.({ done: finished, total, resumed, ...studyRate(ran, total - finished, (Date.now() - started) / 1000), stage });
  // Every edit of the study starts from the unedited model (runEdit reverts each): the problem, the
  // measurement before the edit and the sampled templates are computed once and shared (editReuse.ts).
  const reuse = new EditReuse();
  const aborted = (): boolean => opts.signal?.aborted === true;
  const writer = new ResultWriter(opts.outDir);
  const jobOf = (u: { method: EditMethod; problem: EditingProblem; layer: number }, fact: FactCase): EditJob => ({
    method: u.method, layer: u.layer, cases: [fact], problem: u.problem, seed: spec.seed, cacheDir: resolveStatsCacheDir(opts.cacheDir), statsDir: opts.statsDir, signal: opts.signal, reuse, canary: false,
  });
  const todoOf = (id: number) => units(id).filter((u) => !done.has(rowKey(u)));
  try {
    report('starting');
    for (const [k, id] of mine.entries()) {
      // Every LOCKSTEP_CASES cases: their ROME edits' v* in lockstep, ahead of the edits that use them (lockstep.ts).
      if (k % LOCKSTEP_CASES === 0 && !aborted()) {
        const ahead = mine.slice(k, k + LOCKSTEP_CASES).flatMap((c) => todoOf(c).map((u) => jobOf(u, factCaseOf(byId.get(c)!))));
        if (ahead.some((j) => j.method === 'rome')) report(`cases ${mine[k]}…: ROME v* in lockstep`);
        await prefetchStudyValueStars(model, ahead, reuse, opts.signal);
      }
      const todo = todoOf(id);
      if (todo.length === 0) continue;
      if (aborted()) break;
      const rec = byId.get(id)!;
      const fact = factCaseOf(rec);
      report(`case ${id}: tracing`);
      const trace = spec.localization === 'patching' ? await studyPatchingEffect(model, rec, [...byId.values()], STUDY_TRACE.window, opts.signal) : await studyTracingEffect(model, fact, opts.signal);
      const effect = trace.effect;
      const effectLast = trace.effectLastSubject;
      for (const u of todo) {
        if (aborted()) break;
        report(`case ${id}: ${u.method} ${u.problem} layer ${u.layer}`);
        const out = await runEdit(model, jobOf(u, fact));
        const row: StudyRow = {
          ...u, editLayers: [...out.layers], tracingEffect: effect[u.layer], tracingEffectLastSubject: effectLast[u.layer],
          metrics: studyMetricsOf(out.metricsByProtocol['hase-normalized']), metricsByProtocol: studyMetricsByProtocol(out.metricsByProtocol),
          pre: out.pre, post: out.post, seconds: out.seconds,
        };
        writer.append(row);
        done.add(rowKey(row));
        finished++;
        ran++;
        report(`case ${id}: ${u.method} ${u.problem} layer ${u.layer} done`);
      }
    }
  } catch (e) {
    // Cancellation mid-trace or mid-edit: nothing half-done was written; the next run resumes.
    if (!aborted()) throw e;
  } finally {
    writer.close();
  }
  return { outDir: path.resolve(opts.outDir), total, resumed, ran, cancelled: aborted() && finished < total };
}
