/**
 * `locus edit --requests FILE --sequential [--batch-size k]` (CONTRACTS.md, "Next"): the file's
 * requests applied in batches of k, one batch after another, with the curves of all edits so far
 * (engine methods/sequential). With --out the run is saved and resumable (same command, same folder).
 */
import * as path from 'node:path';
import type { EditingProblem, EditMethod, FactCase, SequentialProgress } from '../../engine/index';
import {
  checkDirTarget, checkEditHparams, checkSequentialSpec, checkStatsDir, corpusFromTextFile, DEFAULT_HELD_OUT_TOKENS, EDIT_METHODS, EDITING_PROBLEMS, formatCurveTable, LocusError,
  MAX_EDIT_SEED, parseEditRequests, readJsonFile, readJsonObject, resolveStatsCacheDir, runSequential,
} from '../../engine/index';
import { intFlag, parseFlags, UsageError } from '../args';
import type { CliIO } from '../io';
import { processIO } from '../io';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, openModel } from '../openModel';

export const editSequentialHelp = `locus edit [--model M] --method ${EDIT_METHODS.join('|')} --requests FILE --sequential [--batch-size k=1]
           [--measure-every m=1] [--held-out-tokens N=${DEFAULT_HELD_OUT_TOKENS}] [--out DIR] [--layer L]
           [--problem P] [--hparams FILE] [--stats-corpus FILE] [--stats-dir DIR] [--cache DIR] [--seed N]
           [--first-prompt-only] [--json]

Applies FILE's requests (a JSON list of requests or CounterFact records) in batches of k, one batch after
another, each batch's edit computed on the model with every earlier batch applied, and measures after every
m-th batch (and the last), over ALL edits so far: rewrite / paraphrase / neighborhood (the seed paper's
scores against the unedited model), perplexity on a WikiText-2 sample of N tokens, and ‖W‖_F of each edited
parameter against its original. The model's files are never modified.
  --out DIR   save the run as it goes (manifest.json, batches.jsonl, deltas/); the same command with the
              same folder resumes after the last completed batch, re-applying the saved deltas
${MODEL_FLAGS_HELP}`;

const interrupted = (): LocusError => new LocusError('cancelled', 'interrupted; resume with the same command and --out folder');

/** The requests file as a list: a sequence needs one (a single request object is refused). */
function readRequests(file: string): FactCase[] {
  const raw = readJsonFile(file, 'requests file');
  const list = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null && Array.isArray((raw as { requests?: unknown }).requests) ? (raw as { requests: unknown[] }).requests : undefined;
  if (!list) throw new LocusError('bad-input', `${file} must hold a JSON list of requests (or { "requests": [...] }) for --sequential, not a single ${Array.isArray(raw) ? 'list' : raw === null ? 'null' : typeof raw}`);
  return parseEditRequests(list, file);
}

/** `locus edit`'s --method and --problem (one edit or a sequence), checked. */
export function editMethodAndProblem(str: (k: string) => string | undefined): { method: EditMethod; problem: EditingProblem } {
  const method = str('method') as EditMethod | undefined;
  if (!method || !EDIT_METHODS.includes(method)) throw new UsageError(`--method must be one of ${EDIT_METHODS.join(', ')} (see "locus edit --help")`);
  const problem = (str('problem') ?? 'error-injection') as EditingProblem;
  if (!EDITING_PROBLEMS.includes(problem)) throw new UsageError(`--problem must be one of ${EDITING_PROBLEMS.join(', ')}`);
  return { method, problem };
}

export async function editSequentialCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(
    argv,
    {
      ...MODEL_FLAGS, method: { type: 'string' }, layer: { type: 'string' }, requests: { type: 'string' }, sequential: { type: 'boolean' }, 'batch-size': { type: 'string' },
      'measure-every': { type: 'string' }, 'held-out-tokens': { type: 'string' }, out: { type: 'string' }, problem: { type: 'string' }, 'stats-corpus': { type: 'string' },
      'stats-dir': { type: 'string' }, hparams: { type: 'string' }, cache: { type: 'string' }, seed: { type: 'string' }, 'first-prompt-only': { type: 'boolean' }, json: { type: 'boolean' },
    },
    'edit',
  );
  if (values.help) return io.out(editSequentialHelp);
  const v = values as Record<string, string | boolean | undefined>;
  const str = (k: string): string | undefined => v[k] as string | undefined;
  const { method, problem } = editMethodAndProblem(str);
  if (v['sequential'] !== true) throw new UsageError('--requests FILE applies a sequence of edits: add --sequential (one edit of several requests: --request FILE)');
  const file = str('requests');
  if (file === undefined) throw new UsageError('--sequential needs --requests FILE (a JSON list of requests)');
  const batchSize = intFlag(str('batch-size'), 'batch-size', 1, 1);
  const measureEvery = intFlag(str('measure-every'), 'measure-every', 1, 1);
  const heldOutTokens = intFlag(str('held-out-tokens'), 'held-out-tokens', DEFAULT_HELD_OUT_TOKENS, 2);
  const seed = intFlag(str('seed'), 'seed', 0, 0, MAX_EDIT_SEED);
  const layer = str('layer') === undefined ? undefined : intFlag(str('layer'), 'layer', 0, 0);
  const hparamsFile = str('hparams');
  const hparams = hparamsFile === undefined ? undefined : readJsonObject(hparamsFile, 'hparams file');
  if (hparams) checkEditHparams(method, hparams, `hparams file ${hparamsFile}`);
  const cases = readRequests(file);
  const spec = { method, problem, batchSize, measureEvery, cases, heldOutTokens, ...(layer === undefined ? {} : { layer }), ...(hparams ? { hparams } : {}), seed };
  checkSequentialSpec(spec);
  const statsCorpus = str('stats-corpus') === undefined ? undefined : corpusFromTextFile(str('stats-corpus')!);
  const statsDir = str('stats-dir');
  if (statsDir !== undefined) checkStatsDir(statsDir);
  const out = str('out');
  if (out !== undefined) checkDirTarget(out, '--out');
  const model = await openModel(values, io);
  const controller = new AbortController();
  const tty = !v['json'] && io === processIO && process.stderr.isTTY === true;
  const onSigint = (): void => {
    if (tty) io.err('\nlocus edit: stopping after the current batch');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    if (layer !== undefined && layer >= model.config.n_layers) throw new LocusError('bad-input', `--layer ${layer} is outside 0..${model.config.n_layers - 1}`);
    if (out !== undefined) checkDirTarget(out, '--out', { modelDir: model.manifest.path });
    const progress = (p: SequentialProgress): void => {
      if (!tty) return;
      const eta = p.etaSeconds === undefined ? '' : `, about ${Math.ceil(p.etaSeconds)} s left`;
      process.stderr.write(`\r\x1b[K${p.edits}/${cases.length} edits${eta} — ${p.stage}`);
    };
    const res = await runSequential(model, spec, {
      cacheDir: resolveStatsCacheDir(str('cache')), statsDir, statsCorpus, outDir: out === undefined ? undefined : path.resolve(out), outFlag: '--out',
      firstOnly: v['first-prompt-only'] === true, signal: controller.signal, onProgress: progress,
    });
    if (tty) process.stderr.write('\r\x1b[K');
    if (v['json']) {
      const batches = res.batches.map((b) => ({ batch: b.batch, layers: b.layers, deltas: b.deltas.map((d) => ({ param: d.param, frobenius: d.frobenius })), requests: b.requests, ...(b.safety ? { safety: b.safety } : {}), seconds: b.seconds }));
      io.out(JSON.stringify({ model: model.manifest, method, problem, batchSize, measureEvery, edits: cases.length, batches, curve: res.curve, resumed: res.resumed, cancelled: res.cancelled, seconds: res.seconds, notes: res.notes, ...(out === undefined ? {} : { out: path.resolve(out) }) }, null, 2));
    } else {
      for (const n of res.notes) io.err(`note: ${n}`);
      const done = res.batches.reduce((s, b) => s + b.requests.length, 0);
      io.out(`${method}, ${done}/${cases.length} requests in ${res.batches.length} batch${res.batches.length === 1 ? '' : 'es'} of ${batchSize} — ${problem} (${res.seconds.toFixed(1)} s${res.resumed ? `, ${res.resumed} batches resumed` : ''})`);
      io.out(formatCurveTable(res.curve));
      const flagged = res.batches.filter((b) => b.safety?.flagged).map((b) => b.batch + 1);
      if (flagged.length) io.err(`warning: the pre-flight safety checks flagged batch${flagged.length > 1 ? 'es' : ''} ${flagged.join(', ')} (applied anyway: see "safety" in --json)`);
      if (out !== undefined) io.out(`saved the run to ${path.resolve(out)}`);
    }
    if (res.cancelled) throw interrupted();
  } catch (e) {
    if (controller.signal.aborted && !(e instanceof LocusError && e.code !== 'cancelled')) throw interrupted();
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
    await model.dispose();
  }
}
