/**
 * Sequential editing (issue 18 item 4; research/editors.md §2.2–2.3): a file's requests applied in
 * batches of k, one batch after another, each batch's edit computed by runEdit on the model with every
 * earlier batch applied (runEdit measures on a stack nested on ours and reverts it, edits.ts), then
 * applied on the run's own stack. After every m-th batch (and the last) the curves get a point:
 * scores of ALL edits so far, held-out perplexity and ‖W‖_F of each edited parameter (measure.ts).
 *
 * With `outDir` the run is saved as it goes (store.ts) under a lock (study/lock.ts); running again
 * with the same folder and spec re-applies the saved deltas (never recomputed) and continues after the
 * last completed batch, bit for bit as an uninterrupted run. The model is as before when this returns.
 */
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { writeJsonAtomic } from '../../files/write';
import type { LoadedModel } from '../../model/model';
import type { ParamName } from '../../model/names';
import { EditStack, frobenius } from '../edit/edits';
import type { Edit } from '../edit/edits';
import type { EditOutcome } from '../edit/runEdit';
import { probeCase } from '../edit/evaluateEdit';
import type { CaseProbe } from '../edit/evaluateEdit';
import { checkFactCase } from '../edit/editInputs';
import { EDIT_METHODS, runEdit } from '../edit/runEdit';
import { buildProblem } from '../problems/problems';
import type { ProblemSpec } from '../problems/problems';
import type { StatsCorpus } from '../stats/corpus';
import type { FolderLock } from '../study/lock';
import { lockFolder } from '../study/lock';
import { heldOutWindows } from './heldOut';
import { frobeniusOf, measurePoint } from './measure';
import { BatchWriter, readBatchDeltas, SEQ_START, readBatches, readSequentialManifest, writeBatchDeltas, writeSequentialManifest } from './store';
import { loadSequenceState, pruneSequenceStates, saveSequenceState } from './sequenceState';
import { sampleRunTemplates } from './templates';
import type { BatchRecord, CurvePoint, SequentialProgress, SequentialSpec } from './types';

export interface SequentialOptions {
  /** Second-moment statistics cache (ROME / MEMIT). */
  readonly cacheDir: string;
  readonly statsDir?: string;
  readonly statsCorpus?: StatsCorpus;
  /** The run folder: saved as it goes, resumed when it holds the same run. */
  readonly outDir?: string;
  /** How messages name outDir (the CLI: "--out"). */
  readonly outFlag?: string;
  readonly firstOnly?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SequentialProgress) => void;
}

export interface SequentialResult {
  readonly spec: SequentialSpec;
  readonly batches: BatchRecord[];
  /** The unedited model's point, then one per measured batch. */
  readonly curve: CurvePoint[];
  /** Batches re-applied from the folder (not recomputed). */
  readonly resumed: number;
  readonly cancelled: boolean;
  readonly seconds: number;
  readonly notes: string[];
}

export const batchCount = (spec: SequentialSpec): number => Math.ceil(spec.cases.length / spec.batchSize);

/** Everything about a spec that needs no model. */
export function checkSequentialSpec(spec: SequentialSpec): void {
  if (!EDIT_METHODS.includes(spec.method)) throw new LocusError('bad-input', `method must be one of ${EDIT_METHODS.join(', ')}`);
  if (!Number.isSafeInteger(spec.batchSize) || spec.batchSize < 1) throw new LocusError('bad-input', `the batch size must be a whole number ≥ 1 (got ${spec.batchSize})`);
  if (!Number.isSafeInteger(spec.measureEvery) || spec.measureEvery < 1) throw new LocusError('bad-input', `measure-every must be a whole number ≥ 1 (got ${spec.measureEvery})`);
  if (!Number.isSafeInteger(spec.heldOutTokens) || spec.heldOutTokens < 2) throw new LocusError('bad-input', `the held-out sample needs at least 2 tokens (got ${spec.heldOutTokens})`);
  if (!Array.isArray(spec.cases) || spec.cases.length === 0) throw new LocusError('bad-input', 'no request to edit');
  spec.cases.forEach((c, i) => checkFactCase(c, `request ${i}`));
}

/** Opens (or creates) the run folder for `spec`: a folder holding another run is refused. */
function openFolder(dir: string, model: LoadedModel, spec: SequentialSpec, flag: string): { lock: FolderLock; done: BatchRecord[] } {
  const lock = lockFolder(dir, flag);
  try {
    const m = readSequentialManifest(dir);
    if (m && JSON.stringify(m.spec) !== JSON.stringify(spec)) {
      throw new LocusError('bad-input', `${flag} ${dir} holds another sequential run (different method, requests, batch size or settings); use a new folder`);
    }
    if (m && m.model.fingerprint !== model.manifest.fingerprint) throw new LocusError('bad-input', `${flag} ${dir} was run on another model (${m.model.name}); use a new folder`);
    if (!m) writeSequentialManifest(dir, { kind: 'locus-sequential', model: model.manifest, spec });
    return { lock, done: readBatches(dir).batches };
  } catch (e) {
    lock.release();
    throw e;
  }
}

export async function runSequential(model: LoadedModel, spec: SequentialSpec, opts: SequentialOptions): Promise<SequentialResult> {
  const t0 = Date.now();
  checkSequentialSpec(spec);
  const nBatches = batchCount(spec);
  const flag = opts.outFlag ?? 'run folder';
  const folder = opts.outDir === undefined ? undefined : openFolder(opts.outDir, model, spec, flag);
  const done = folder?.done.slice(0, nBatches) ?? [];
  const report = (p: Omit<SequentialProgress, 'batches'>): void => opts.onProgress?.({ ...p, batches: nBatches });
  const stack = new EditStack(model);
  let writer: BatchWriter | undefined;
  const notes: string[] = [];
  try {
    // Everything measured on the unedited model first: the problems, each request's "before", the
    // held-out sample and the templates every batch will use (templates.ts).
    report({ batch: 0, edits: 0, stage: 'measuring the unedited model' });
    const specs: ProblemSpec[] = [];
    const pre: CaseProbe[] = [];
    for (const c of spec.cases) {
      const s = await buildProblem(model, c, spec.problem, 0.1);
      specs.push(s);
      pre.push(await probeCase(model, c, s, opts.signal));
    }
    const contextTemplates = await sampleRunTemplates(model, spec.method, spec.hparams, spec.seed ?? 0, opts.signal);
    const windows = heldOutWindows(model, spec.heldOutTokens);
    const originalNorms = new Map<ParamName, number>();
    const inputs = { cases: spec.cases, specs, pre, windows, originalNorms, firstOnly: opts.firstOnly };
    const applyEdit = async (edit: Edit): Promise<void> => {
      for (const d of edit.deltas) if (!originalNorms.has(d.param)) originalNorms.set(d.param, frobeniusOf(model.param(d.param).data));
      await stack.apply(edit);
    };
    const curve: CurvePoint[] = [await measurePoint(model, inputs, 0, 0, opts.signal)];
    // Saved for readers of the folder (the panel): the curves start at the unedited model.
    if (opts.outDir !== undefined) writeJsonAtomic(path.join(opts.outDir, SEQ_START), curve[0], 'sequential run start point');
    const batches: BatchRecord[] = [];
    for (const rec of done) {
      report({ batch: rec.batch, edits: rec.requests.length, stage: `re-applying saved batch ${rec.batch + 1}` });
      await applyEdit({ method: spec.method, layers: rec.layers, deltas: readBatchDeltas(opts.outDir!, rec) });
      batches.push(rec);
      if (rec.point) curve.push(rec.point);
    }
    // What the method carries from batch to batch (AlphaEdit's P and key cache), as saved after the last completed batch.
    const sequence = (done.length > 0 ? loadSequenceState(opts.outDir!, done.length - 1) : undefined) ?? new Map<string, unknown>();
    if (opts.outDir !== undefined) writer = new BatchWriter(opts.outDir);
    const tStart = Date.now();
    let cancelled = false;
    for (let b = done.length; b < nBatches; b++) {
      if (opts.signal?.aborted) {
        cancelled = true;
        break;
      }
      const tb = Date.now();
      const from = b * spec.batchSize;
      const indices = Array.from({ length: Math.min(spec.batchSize, spec.cases.length - from) }, (_, i) => from + i);
      const ran = b - done.length;
      const eta = ran === 0 ? undefined : ((Date.now() - tStart) / 1000 / ran) * (nBatches - b);
      const edits = from + indices.length;
      const stage = (s: string): void => report({ batch: b, edits: from, stage: s, etaSeconds: eta });
      stage(`batch ${b + 1}/${nBatches}: editing`);
      let out: EditOutcome;
      let point: CurvePoint | undefined;
      try {
        out = await runEdit(model, {
          method: spec.method, layer: spec.layer, cases: indices.map((i) => spec.cases[i]), problem: spec.problem, hparams: spec.hparams, seed: spec.seed,
          cacheDir: opts.cacheDir, statsDir: opts.statsDir, statsCorpus: opts.statsCorpus, firstOnly: opts.firstOnly, signal: opts.signal, contextTemplates, onProgress: stage, sequence,
          secondMomentOnFileWeights: true,
        });
        await applyEdit(out.edit);
        if ((b + 1) % spec.measureEvery === 0 || b === nBatches - 1) {
          stage(`batch ${b + 1}/${nBatches}: measuring ${edits} edits`);
          point = await measurePoint(model, inputs, edits, b + 1, opts.signal);
        }
      } catch (e) {
        // Cancelled mid-batch: the batch is not recorded (a resumed run computes it again).
        if (opts.signal?.aborted) {
          cancelled = true;
          break;
        }
        throw e;
      }
      for (const n of out.notes) if (!notes.includes(n)) notes.push(n);
      if (point) curve.push(point);
      const stored = opts.outDir === undefined
        ? out.edit.deltas.map((d) => ({ param: d.param, kind: d.kind, shape: d.kind === 'rank-one' ? [d.u.length, d.v.length] : [...d.shape], offset: 0, length: 0, frobenius: frobenius(d) }))
        : writeBatchDeltas(opts.outDir, b, out.edit);
      if (opts.outDir !== undefined && sequence.size > 0) saveSequenceState(opts.outDir, b, sequence, spec.method);
      const rec: BatchRecord = { batch: b, requests: out.requests.map((r, i) => ({ index: indices[i], ...r })), layers: out.edit.layers, deltas: stored, seconds: (Date.now() - tb) / 1000, safety: out.safety, ...(point ? { point } : {}) };
      writer?.append(rec);
      if (opts.outDir !== undefined) pruneSequenceStates(opts.outDir, b);
      batches.push(rec);
      report({ batch: b + 1, edits, stage: `batch ${b + 1}/${nBatches} done`, etaSeconds: ((Date.now() - tStart) / 1000 / (ran + 1)) * (nBatches - b - 1), point });
    }
    return { spec, batches, curve, resumed: done.length, cancelled, seconds: (Date.now() - t0) / 1000, notes };
  } finally {
    writer?.close();
    await stack.revertAll();
    folder?.lock.release();
  }
}
