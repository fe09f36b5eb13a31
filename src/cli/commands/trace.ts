import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkFileTarget, decodeEdit, estimateCost, isFolder, isLocusError, LocusError, MAX_SEED, readEditSource, readJsonFile, readTextFile, recordTraceCost, retraceWithEdit, runCausalTrace, traceReportHtml, traceWork, writeTextAtomic } from '../../engine/index';
import type { ModelManifest, NoiseRule, RetraceResult, TraceGrid, TraceKind, TraceResult, TraceScore } from '../../engine/index';
import { intFlag, parseFlags, requireFlag, UsageError } from '../args';
import { ESTIMATE_HELP, printEstimate } from '../estimate';
import type { CliIO } from '../io';
import { processIO } from '../io';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, openModel } from '../openModel';

export const traceHelp = `locus trace [--model M] --prompt TEXT --subject TEXT [--kind hidden|mlp|attn|all] [--window W]
            [--samples N] [--noise s3|sF|<number>] [--noise-subjects FILE] [--seed S] [--target TEXT]
            [--score first-token|sequence] [--edit EDIT.json] [--html FILE] [--threads N] [--estimate] [--json]

Causal Tracing (ROME's calculate_hidden_flow): corrupt the subject's token embeddings with Gaussian
noise, then restore the clean state at each (token, layer) and measure how much of the answer's
probability comes back.
  --prompt TEXT         the prompt; it must contain the subject
  --subject TEXT        the subject, e.g. "The Space Needle"
  --kind K              hidden (block output), mlp, attn, a comma list, or all (the default)
  --window W            layers restored around each layer for mlp/attn (default 10; hidden restores 1)
  --samples N           noised copies averaged per cell (default 10)
  --noise R             s3 (3 × the std of the noise subjects' token embeddings; the default), sF, or σ itself
  --noise-subjects FILE one subject per line whose embeddings set the noise scale (default: the subject)
  --seed S              seed of the noise draws, numpy's RandomState (default 1)
  --target TEXT         trace this answer instead of the clean run's top token
  --score M             first-token (p of the answer's first token, as ROME; the default) or sequence
  --edit EDIT.json      re-trace with an edit (the JSON of locus edit --json, or a sequential run folder
                        from locus edit --sequential --out DIR, made on this model): trace the
                        unedited model, then the edited one with the same noise draws, σ and answer (the
                        unedited model's top token unless --target); the report is the edited model's,
                        plus "original" { highScore, lowScore, grids } and "difference" { grids } =
                        edited − original cell by cell, and "edit" { method, layers }
  --html FILE           also write a self-contained HTML report (heatmaps, tracing-effect chart)
${ESTIMATE_HELP}
${MODEL_FLAGS_HELP}
  --json                print JSON: { model, tokens, ids, subjectRange, answer, highScore, lowScore,
                        noiseLevel, samples, seed, score, grids, tracingEffect,
                        tracingEffectLastSubject, cells, seconds } (and "html" with --html)`;

const ALL_KINDS: readonly TraceKind[] = ['hidden', 'mlp', 'attn'];

function parseKinds(value: string | undefined): TraceKind[] {
  if (value === undefined || value === 'all') return [...ALL_KINDS];
  const kinds = value.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(ALL_KINDS as readonly string[]).includes(k)) throw new UsageError(`--kind must be hidden, mlp, attn, a comma list of them, or all (got "${value}")`);
  }
  return [...new Set(kinds as TraceKind[])];
}

/** `s3` / `sF` (F a decimal) as the engine's rule, a plain number ≥ 0 as σ; anything else is a usage error. */
function parseNoise(value: string | undefined): NoiseRule | undefined {
  if (value === undefined) return undefined;
  if (/^s\d+(\.\d+)?$/.test(value)) return value as NoiseRule;
  const n = Number(value);
  if (value.trim() !== '' && Number.isFinite(n) && n >= 0) return n;
  throw new UsageError(`--noise must be s3, sF (F × the embedding std, e.g. s2.5) or a number ≥ 0 (got "${value}")`);
}

function parseScore(value: string | undefined): TraceScore | undefined {
  if (value === undefined || value === 'first-token' || value === 'sequence') return value;
  throw new UsageError(`--score must be first-token or sequence (got "${value}")`);
}

/** One subject per line; blank lines are skipped and each line is trimmed (stray spaces would change the tokens). */
function readNoiseSubjects(file: string | undefined): string[] | undefined {
  if (file === undefined) return undefined;
  const subjects = readTextFile(path.resolve(file), '--noise-subjects').split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
  if (subjects.length === 0) throw new UsageError(`--noise-subjects: ${path.resolve(file)} holds no subjects (one per line)`);
  return subjects;
}


// Values within rounding of 0 print as 0.000, not -0.000.
const cell = (v: number): string => (Math.abs(v) < 5e-4 ? 0 : v).toFixed(3).padStart(6);

/** One grid: tokens down, layers across. */
function printGrid(io: CliIO, grid: TraceGrid, labels: string[], w: number): void {
  const L = grid.scores[0]?.length ?? 0;
  io.out(`${'token'.padEnd(w)} ${Array.from({ length: L }, (_, l) => String(l).padStart(6)).join(' ')}`);
  grid.scores.forEach((row, t) => io.out(`${labels[t].padEnd(w)} ${row.map(cell).join(' ')}`));
}

/** Token labels (subject marked '*') and their column width. */
function tokenLabels(r: TraceResult): { labels: string[]; w: number } {
  const [b, e] = r.subjectRange;
  const labels = r.tokens.map((t, i) => {
    const s = JSON.stringify(t) + (i >= b && i < e ? '*' : '');
    return s.length > 24 ? s.slice(0, 23) + '…' : s;
  });
  return { labels, w: Math.max(12, ...labels.map((s) => s.length)) };
}

/** After the edited model's report: the original's grids and edited − original, per kind. */
function printRetrace(io: CliIO, r: RetraceResult, file: string): void {
  const { labels, w } = tokenLabels(r);
  const answer = JSON.stringify(r.answer.token);
  io.out('');
  io.out(`edit     ${r.edit.method} at layer${r.edit.layers.length > 1 ? 's' : ''} ${r.edit.layers.join(', ')} (${file}); the tables above are the edited model's`);
  io.out(`original high ${r.original.highScore.toFixed(4)} (clean)   low ${r.original.lowScore.toFixed(4)} (corrupted), same noise draws`);
  for (const kind of ALL_KINDS) {
    const o = r.original.grids[kind];
    const d = r.difference.grids[kind];
    if (!o || !d) continue;
    io.out('');
    io.out(`${kind}, original model: p(${answer})`);
    printGrid(io, o, labels, w);
    io.out('');
    io.out(`${kind}, difference: edited − original`);
    printGrid(io, d, labels, w);
  }
}

/** The text report: header, one table per kind (tokens down, layers across, subject marked '*'), the tracing effect. */
function printText(io: CliIO, m: ModelManifest, r: TraceResult, prompt: string): void {
  const [b, e] = r.subjectRange;
  const { labels, w } = tokenLabels(r);
  const answer = JSON.stringify(r.answer.token);
  io.out(`model    ${m.name} (${m.architecture}, ${m.n_layers} layers, d_model ${m.d_model})`);
  io.out(`prompt   ${JSON.stringify(prompt)}`);
  io.out(`subject  tokens ${b}…${e - 1} (marked *): ${r.tokens.slice(b, e).map((t) => JSON.stringify(t)).join(' ')}`);
  io.out(`answer   ${answer} (id ${r.answer.id}), scored by ${r.score === 'sequence' ? 'p(whole answer)' : 'p(first token)'}`);
  io.out(`scores   high ${r.highScore.toFixed(4)} (clean)   low ${r.lowScore.toFixed(4)} (corrupted)`);
  io.out(`noise    σ ${r.noiseLevel.toPrecision(4)}, ${r.samples} samples, seed ${r.seed}`);
  for (const kind of ALL_KINDS) {
    const grid = r.grids[kind];
    if (!grid) continue;
    io.out('');
    io.out(`${kind}: p(${answer}) with the ${kind === 'hidden' ? 'block output at that layer' : `${kind} outputs of ${grid.window} layers around that layer`} restored`);
    printGrid(io, grid, labels, w);
    io.out(`${'effect'.padEnd(w)} ${(r.tracingEffect[kind] ?? []).map(cell).join(' ')}   fractional, max over tokens`);
    io.out(`${'effect@last'.padEnd(w)} ${(r.tracingEffectLastSubject[kind] ?? []).map(cell).join(' ')}   at the last subject token`);
  }
  io.out('');
  io.out(`${r.cells} cells in ${r.seconds.toFixed(2)} s`);
}

export async function traceCommand(argv: string[], io: CliIO): Promise<void> {
  const { values, positionals } = parseFlags(
    argv,
    {
      ...MODEL_FLAGS, prompt: { type: 'string' }, subject: { type: 'string' }, kind: { type: 'string' }, window: { type: 'string' },
      samples: { type: 'string' }, noise: { type: 'string' }, 'noise-subjects': { type: 'string' }, seed: { type: 'string' },
      target: { type: 'string' }, score: { type: 'string' }, edit: { type: 'string' }, html: { type: 'string' }, json: { type: 'boolean' }, estimate: { type: 'boolean' },
    },
    'trace',
  );
  if (values.help) return io.out(traceHelp);
  // A stray word is almost always an unquoted prompt ("--prompt The Eiffel Tower …"): refuse rather than trace the wrong text.
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (quote the prompt and subject; see "locus trace --help")`);
  // Everything cheap is checked before the model loads, so a typo fails at once.
  const str = (k: keyof typeof values): string | undefined => values[k] as string | undefined;
  const prompt = requireFlag(str('prompt'), 'prompt', 'trace');
  const subject = requireFlag(str('subject'), 'subject', 'trace');
  const kinds = parseKinds(str('kind'));
  const window = intFlag(str('window'), 'window', 10, 1, 10_000);
  // The engine refuses a sample count whose corrupted run does not fit in memory (it knows the model).
  const samples = intFlag(str('samples'), 'samples', 10, 1, 1_000_000);
  const seed = intFlag(str('seed'), 'seed', 1, 0, MAX_SEED);
  const noise = parseNoise(str('noise'));
  const score = parseScore(str('score'));
  const target = str('target');
  if (target !== undefined && target.trim() === '') throw new UsageError('--target is empty');
  const noiseSubjects = readNoiseSubjects(str('noise-subjects'));
  // The edit file is read and parsed now; it is checked against the model (fingerprint, shapes) once that loads.
  const editFile = str('edit');
  if (values.estimate && editFile !== undefined) throw new UsageError('--estimate does not cover --edit yet (a re-trace runs the grid twice): estimate the grid without --edit');
  // A folder is a sequential run (read after the load, against the model's fingerprint).
  const editJson = editFile === undefined || isFolder(editFile) ? undefined : readJsonFile(editFile, '--edit');
  const html = str('html') === undefined ? undefined : path.resolve(str('html')!);
  if (html && !fs.existsSync(path.dirname(html))) throw new UsageError(`--html: the folder ${path.dirname(html)} does not exist`);
  if (html) checkFileTarget(html, '--html');

  // Progress only for a person watching: never in --json, never into a pipe or a test's collector.
  const tty = !values.json && io === processIO && process.stderr.isTTY === true;
  const clear = (): void => {
    if (tty) process.stderr.write('\r\x1b[K');
  };
  // A trace runs the model's own graphs only: a GPT-2-small-sized model is mapped, not read (weights.ts MAPPED_PREPACK_BYTES).
  const model = await openModel(values, io, 'auto-mapped');
  if (values.estimate) {
    try {
      return printEstimate(io, 'trace grid', await estimateCost(model, traceWork(model, { prompt, subject, kinds, samples }), { calibrationPrompt: prompt }), values.json === true);
    } finally {
      await model.dispose();
    }
  }
  // Ctrl-C aborts the trace between batches; a second Ctrl-C (the listener is gone) kills at once.
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    // The report may not land in the model's folder (it would overwrite e.g. config.json).
    if (html) checkFileTarget(html, '--html', { modelDir: model.manifest.path });
    const edit = editFile === undefined ? undefined : editJson !== undefined ? decodeEdit(editJson, model, `--edit ${editFile}`) : readEditSource(editFile, model, '--edit');
    let result: TraceResult | RetraceResult;
    try {
      const req = { prompt, subject, kinds, window, samples, seed, noise, noiseSubjects, target, score };
      const traceOpts = { signal: controller.signal, onProgress: ({ done, total }: { done: number; total: number }) => tty && process.stderr.write(`\rtracing: cells ${done}/${total}`) };
      result = edit ? await retraceWithEdit(model, req, edit, traceOpts) : await runCausalTrace(model, req, traceOpts);
      // This machine's cost per restored run, for the next --estimate (a re-trace's seconds cover two grids: not recorded).
      if (!edit) recordTraceCost(model, result);
    } catch (e) {
      // Aborts surface from several layers with different wording; the user sees one word.
      if (controller.signal.aborted && isLocusError(e) && e.code === 'cancelled') throw new LocusError('cancelled', 'cancelled');
      throw e;
    } finally {
      clear();
    }
    if (html) writeTextAtomic(html, traceReportHtml(result, { model: model.manifest.name, prompt, subject }), '--html');
    if (values.json) return io.out(JSON.stringify({ model: model.manifest, ...result, ...(html ? { html } : {}) }, null, 2));
    printText(io, model.manifest, result, prompt);
    if (edit) printRetrace(io, result as RetraceResult, editFile!);
    if (html) io.out(`report   ${html}`);
  } finally {
    process.off('SIGINT', onSigint);
    await model.dispose();
  }
}
