import * as path from 'node:path';
import type { FactCase } from '../../engine/index';
import {
  checkContextTemplates, checkDirTarget, checkEditHparams, checkFactCase, checkStatsDir, corpusFromTextFile, defaultDatasetPath, EDIT_METHODS, encodeEdit, editMethodList, EditStack, exportModel, factCaseOf, isFolder,
  LocusError, loadCounterFact, MAX_EDITING_NOISE, MAX_EDIT_SEED, parseEditRequests, readJsonFile, readJsonObject, resolveStatsCacheDir, runEdit,
} from '../../engine/index';
import { intFlag, numberFlag, parseFlags, UsageError } from '../args';
import type { CliIO } from '../io';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, openModel } from '../openModel';
import { editMethodAndProblem, editSequentialCommand } from './editSequential';

/** One help line per editing method, from the engine's registry. */
const methodLines = editMethodList().map((m) => `  ${m.id.padEnd(20)} ${m.label}: ${m.summary}`).join('\n');

export const editHelp = `locus edit [--model M] --method ${EDIT_METHODS.join('|')} [--layer L]
           (--case ID [--dataset FILE] | --request FILE)
           [--problem error-injection|tracing-reversal|fact-erasure|fact-amplification|fact-forcing]
           [--context-templates FILE] [--stats-corpus FILE] [--stats-dir DIR] [--hparams FILE] [--cache DIR]
           [--seed N] [--editing-noise σ=0.1] [--first-prompt-only] [--save DIR [--force]] [--json]

       locus edit ... --requests FILE --sequential [--batch-size k]   (a sequence of edits: see "locus edit --sequential --help")

Computes an edit, measures before and after, and (with --save) writes the edited model to a new folder.
The model's own files are never modified.
Methods (--method):
${methodLines}

  --layer L            edited layer (ft5 / memit: the centre of a 5-layer window); default: the preset's
  --request FILE       a CounterFact requested_rewrite object (prompt with {}, subject, target_new.str,
                       target_true.str, optional paraphrase_prompts / neighborhood_prompts) or an array of them
  --hparams FILE       the reference implementation's hparams JSON (snake_case keys)
  --stats-corpus FILE  text file (one document per non-empty line) for ROME/MEMIT's key statistics
                       (default: the bundled WikiText-2; for the embedded model, its training text)
  --stats-dir DIR      ROME/MEMIT's published statistics (DIR/wikipedia_stats/<module>_float32_mom2_<N>.npz,
                       e.g. transformer.h.17.mlp.c_proj_float32_mom2_100000.npz): a layer's file is used
                       instead of computing C (the notes say which file)
  --cache DIR          statistics cache for rome/memit (default ~/.cache/locus/stats, or $XDG_CACHE_HOME/locus/stats;
                       a workspace's old .locus/stats is still read); must be creatable and writable,
                       outside the model folder (checked before any statistics are computed)
  --editing-noise σ    subject noise for Tracing Reversal's o_noise and Fact Forcing (default 0.1, at most ${MAX_EDITING_NOISE})
  --seed N             seed of the context-template sampler, 0 to ${MAX_EDIT_SEED} (default 0)
  --save DIR           a new or empty folder outside the model's; written atomically (a killed run leaves no model there)
  --force              with --save: export the edit even when the pre-flight safety checks flag it (one warning line
                       per flagged check on stderr; README "Edit safety"); without it a flagged edit is not saved
${MODEL_FLAGS_HELP}`;

export async function editCommand(argv: string[], io: CliIO): Promise<void> {
  // A sequence of edits (--requests FILE --sequential) is its own command with its own flags (editSequential.ts).
  if (argv.some((a) => a === '--sequential' || a === '--requests' || a.startsWith('--requests='))) return editSequentialCommand(argv, io);
  const { values } = parseFlags(
    argv,
    {
      ...MODEL_FLAGS, method: { type: 'string' }, layer: { type: 'string' }, case: { type: 'string' }, dataset: { type: 'string' }, request: { type: 'string' },
      problem: { type: 'string' }, 'context-templates': { type: 'string' }, 'stats-corpus': { type: 'string' }, 'stats-dir': { type: 'string' }, hparams: { type: 'string' }, cache: { type: 'string' },
      seed: { type: 'string' }, 'editing-noise': { type: 'string' }, 'first-prompt-only': { type: 'boolean' }, save: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' },
    },
    'edit',
  );
  if (values.help) return io.out(editHelp);
  const v = values as Record<string, string | boolean | undefined>;
  const str = (k: string): string | undefined => v[k] as string | undefined;
  // Every input is checked before the model loads: a typo costs a second, not a load and an edit.
  const { method, problem } = editMethodAndProblem(str);
  if ((v['case'] === undefined) === (v['request'] === undefined)) throw new UsageError('give exactly one of --case ID or --request FILE');
  let cases: FactCase[];
  const request = str('request');
  if (request !== undefined) {
    cases = parseEditRequests(readJsonFile(request, 'request file'), request);
  } else {
    const id = intFlag(str('case'), 'case', 0, 0);
    const file = str('dataset') ?? defaultDatasetPath();
    const rec = loadCounterFact(file).find((r) => r.case_id === id);
    if (!rec) throw new LocusError('bad-input', `${file} has no record with case_id ${id}`);
    cases = [factCaseOf(rec)];
    checkFactCase(cases[0], `${file}: case_id ${id}`);
  }
  const templatesFile = str('context-templates');
  const templates = templatesFile === undefined ? undefined : readJsonFile(templatesFile, 'context templates file');
  if (templatesFile !== undefined) checkContextTemplates(templates, `--context-templates ${templatesFile}`);
  const hparamsFile = str('hparams');
  const hparamsSource = `hparams file ${hparamsFile ?? ''}`;
  const hparams = hparamsFile === undefined ? undefined : readJsonObject(hparamsFile, 'hparams file');
  if (hparams) checkEditHparams(method, hparams, hparamsSource);
  const statsCorpus = str('stats-corpus') === undefined ? undefined : corpusFromTextFile(str('stats-corpus')!);
  const statsDir = str('stats-dir');
  if (statsDir !== undefined) checkStatsDir(statsDir);
  const editingNoise = numberFlag(str('editing-noise'), 'editing-noise', undefined, 0, MAX_EDITING_NOISE);
  const seed = intFlag(str('seed'), 'seed', 0, 0, MAX_EDIT_SEED);
  const layer = str('layer') === undefined ? undefined : intFlag(str('layer'), 'layer', 0, 0);
  const save = str('save');
  // The save target before any work (again below with the model's folder known): /proc, a file,
  // a read-only or non-empty folder used to fail only after the edit had run.
  const modelArg = str('model');
  const modelDir = modelArg !== undefined && isFolder(modelArg) ? modelArg : undefined;
  if (save !== undefined) checkDirTarget(save, '--save', { mustBeEmpty: true, modelDir });
  // One edit per process: each graph session is created once and run a few dozen times, so sessions that
  // take the weights as inputs (lean: mapped from the file, not copied into every graph) cost less than
  // baking them in. Measured (bench/edit.ts, GPT-2-small shape, 1 thread): session creation 11.9 s → 0.4 s
  // of CPU, runs without prepacked MatMul weights 15.2 s → 19.3 s, peak RSS 3.9 → 2.6 GB; results equal
  // to 1e-6 relative (the MatMul kernels' summation order).
  const model = await openModel(values, io, true);
  try {
    if (save !== undefined) checkDirTarget(save, '--save', { mustBeEmpty: true, modelDir: model.manifest.path });
    if (layer !== undefined && layer >= model.config.n_layers) throw new LocusError('bad-input', `--layer ${layer} is outside 0..${model.config.n_layers - 1}`);
    const progress = !v['json'] && process.stderr.isTTY ? (s: string) => io.err(`  ${s}`) : undefined;
    const result = await runEdit(
      model,
      {
        method, layer, cases, problem, hparams, hparamsSource, statsCorpus, statsDir, cacheDir: resolveStatsCacheDir(str('cache')),
        contextTemplates: templates as string[] | undefined,
        editingNoise, seed, firstOnly: v['first-prompt-only'] === true, onProgress: progress,
      },
    );
    // Pre-flight safety (README "Edit safety"): a warning per flagged check; a flagged edit is saved only with --force.
    for (const c of result.safety.checks.filter((x) => x.flagged)) io.err(`warning: safety: ${c.name}${c.layer !== undefined ? ` (layer ${c.layer})` : c.param !== undefined ? ` (${c.param})` : ''} = ${c.value.toPrecision(3)}, ${c.flaggedWhen} the threshold ${c.threshold}: ${c.note}`);
    if (save !== undefined && result.safety.flagged && v['force'] !== true) throw new LocusError('bad-input', 'the pre-flight safety checks flagged this edit (warnings above): --save refuses it; add --force to save it anyway');
    // runEdit leaves the model as it was; --save applies its edit (as data) for the export (the process ends after).
    if (save !== undefined) await new EditStack(model).apply(result.edit);
    if (save !== undefined) exportModel(model, save, { locus_edit: JSON.stringify({ method, layers: result.layers, problem }) }, { flag: '--save' });
    const { edit: _edit, ...json } = result;
    // "edit": the ΔW itself (editFile.ts), so locus trace --edit / assert --edits can re-apply it.
    if (v['json']) return io.out(JSON.stringify({ model: model.manifest, ...json, edit: encodeEdit(result.edit, model) }, null, 2));
    for (const n of result.notes) io.err(`note: ${n}`);
    io.out(`${method} at layer${result.layers.length > 1 ? 's' : ''} ${result.layers.join(', ')} — ${problem}, target "${result.target}" (${result.seconds.toFixed(1)} s)`);
    io.out(`  log p(target):      ${result.pre.targetNewLogprob.toFixed(3)} → ${result.post.targetNewLogprob.toFixed(3)}`);
    io.out(`  log p(target_true): ${result.pre.targetTrueLogprob.toFixed(3)} → ${result.post.targetTrueLogprob.toFixed(3)}`);
    const m = result.metrics;
    const f = (x: number): string => (Number.isNaN(x) ? '—' : x.toFixed(3));
    io.out(`  scores: rewrite ${f(m.rewrite)}  paraphrase ${f(m.paraphrase)}  neighborhood ${f(m.neighborhood)}  overall ${f(m.overall)}`);
    for (const d of result.deltas) io.out(`  ‖Δ ${d.param}‖ = ${d.frobenius.toFixed(4)}`);
    if (save !== undefined) io.out(`saved the edited model to ${path.resolve(save)}`);
  } finally {
    await model.dispose();
  }
}
