import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EditingProblem, EditMethod, FactCase } from '../../engine/index';
import { corpusFromTextFile, defaultDatasetPath, EDIT_METHODS, EDITING_PROBLEMS, exportModel, LocusError, loadCounterFact, loadModel, runEdit } from '../../engine/index';
import { intFlag, parseFlags, UsageError } from '../args';
import type { CliIO } from '../io';

export const editHelp = `locus edit [--model M] --method rome|memit|ft|ft5 [--layer L]
           (--case ID [--dataset FILE] | --request FILE)
           [--problem error-injection|tracing-reversal|fact-erasure|fact-amplification|fact-forcing]
           [--context-templates FILE] [--stats-corpus FILE] [--hparams FILE] [--cache DIR]
           [--seed N] [--editing-noise σ=0.1] [--first-prompt-only] [--save DIR] [--json]

Computes an edit, measures before and after, and (with --save) writes the edited model to a new folder.
The model's own files are never modified.
  --layer L            edited layer (ft5 / memit: the centre of a 5-layer window); default: the preset's
  --request FILE       a CounterFact requested_rewrite object (prompt with {}, subject, target_new.str,
                       target_true.str, optional paraphrase_prompts / neighborhood_prompts) or an array of them
  --hparams FILE       the reference implementation's hparams JSON (snake_case keys)
  --stats-corpus FILE  text file (one document per non-empty line) for ROME/MEMIT's key statistics
                       (default: the bundled WikiText-2; for the embedded model, its training text)
  --cache DIR          statistics cache (default .locus/stats)
  --editing-noise σ    subject noise for Tracing Reversal's o_noise and Fact Forcing (default 0.1)`;

function readJson(file: string, what: string): unknown {
  if (!fs.existsSync(file)) throw new LocusError('not-found', `${what} ${file} does not exist`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LocusError('bad-config', `${file} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

function asCase(raw: unknown, file: string, i: number): FactCase {
  const r = raw as Record<string, unknown>;
  const rw = (r['requested_rewrite'] ?? r) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { str?: unknown }).str === 'string' ? (v as { str: string }).str : undefined);
  const prompt = rw['prompt'];
  const subject = rw['subject'];
  const tNew = str(rw['target_new']);
  const tTrue = str(rw['target_true']);
  if (typeof prompt !== 'string' || !prompt.includes('{}')) throw new LocusError('bad-config', `${file}: request ${i}: "prompt" must be a string with {} where the subject goes`);
  if (typeof subject !== 'string' || subject.trim() === '') throw new LocusError('bad-config', `${file}: request ${i}: "subject" must be a non-empty string`);
  if (!tNew || !tTrue) throw new LocusError('bad-config', `${file}: request ${i}: needs target_new.str and target_true.str`);
  const list = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
  return {
    prompt,
    subject,
    target_new: { str: tNew },
    target_true: { str: tTrue },
    paraphrase_prompts: list(r['paraphrase_prompts'] ?? rw['paraphrase_prompts']),
    neighborhood_prompts: list(r['neighborhood_prompts'] ?? rw['neighborhood_prompts']),
  };
}

export async function editCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(
    argv,
    {
      model: { type: 'string' }, method: { type: 'string' }, layer: { type: 'string' }, case: { type: 'string' }, dataset: { type: 'string' }, request: { type: 'string' },
      problem: { type: 'string' }, 'context-templates': { type: 'string' }, 'stats-corpus': { type: 'string' }, hparams: { type: 'string' }, cache: { type: 'string' },
      seed: { type: 'string' }, 'editing-noise': { type: 'string' }, 'first-prompt-only': { type: 'boolean' }, save: { type: 'string' }, json: { type: 'boolean' }, threads: { type: 'string' },
    },
    'edit',
  );
  if (values.help) return io.out(editHelp);
  const v = values as Record<string, string | boolean | undefined>;
  const method = v['method'] as EditMethod | undefined;
  if (!method || !EDIT_METHODS.includes(method)) throw new UsageError(`--method must be one of ${EDIT_METHODS.join(', ')} (see "locus edit --help")`);
  const problem = ((v['problem'] as string | undefined) ?? 'error-injection') as EditingProblem;
  if (!EDITING_PROBLEMS.includes(problem)) throw new UsageError(`--problem must be one of ${EDITING_PROBLEMS.join(', ')}`);
  if ((v['case'] === undefined) === (v['request'] === undefined)) throw new UsageError('give exactly one of --case ID or --request FILE');
  let cases: FactCase[];
  if (v['request'] !== undefined) {
    const file = v['request'] as string;
    const raw = readJson(file, 'request file') as Record<string, unknown> | unknown[];
    // Also accepted: a wrapper { request } or { requests: [...] } (the golden oracle's request files).
    const list = Array.isArray(raw) ? raw : Array.isArray(raw['requests']) ? (raw['requests'] as unknown[]) : [raw['request'] ?? raw];
    cases = list.map((r, i) => asCase(r, file, i));
    if (cases.length === 0) throw new LocusError('bad-config', `${file} holds no request`);
  } else {
    const id = intFlag(v['case'] as string, 'case', 0, 0);
    const file = (v['dataset'] as string | undefined) ?? defaultDatasetPath();
    const rec = loadCounterFact(file).find((r) => r.case_id === id);
    if (!rec) throw new LocusError('bad-input', `${file} has no record with case_id ${id}`);
    cases = [asCase(rec, file, 0)];
  }
  const templates = v['context-templates'] === undefined ? undefined : readJson(v['context-templates'] as string, 'context templates file');
  if (templates !== undefined && !(Array.isArray(templates) && templates.flat().every((t) => typeof t === 'string' && t.includes('{}')))) {
    throw new LocusError('bad-config', `${v['context-templates'] as string} must be a JSON array of templates containing {} (or MEMIT's nested groups)`);
  }
  const hparams = v['hparams'] === undefined ? undefined : (readJson(v['hparams'] as string, 'hparams file') as Record<string, unknown>);
  const statsCorpus = v['stats-corpus'] === undefined ? undefined : corpusFromTextFile(v['stats-corpus'] as string);
  const editingNoise = v['editing-noise'] === undefined ? undefined : Number(v['editing-noise']);
  if (editingNoise !== undefined && !(editingNoise >= 0)) throw new UsageError(`--editing-noise must be a non-negative number (got "${v['editing-noise'] as string}")`);
  const threads = v['threads'] === undefined ? undefined : intFlag(v['threads'] as string, 'threads', 1);
  const model = await loadModel((v['model'] as string | undefined) ?? 'default', { threads });
  try {
    const layer = v['layer'] === undefined ? undefined : intFlag(v['layer'] as string, 'layer', 0, 0);
    if (layer !== undefined && layer >= model.config.n_layers) throw new LocusError('bad-input', `--layer ${layer} is outside 0..${model.config.n_layers - 1}`);
    const progress = !v['json'] && process.stderr.isTTY ? (s: string) => io.err(`  ${s}`) : undefined;
    const result = await runEdit(
      model,
      {
        method, layer, cases, problem, hparams, statsCorpus, cacheDir: (v['cache'] as string | undefined) ?? path.join('.locus', 'stats'),
        contextTemplates: templates as string[] | undefined,
        editingNoise, seed: v['seed'] === undefined ? 0 : intFlag(v['seed'] as string, 'seed', 0, 0), firstOnly: v['first-prompt-only'] === true, onProgress: progress,
      },
      v['save'] !== undefined,
    );
    if (v['save'] !== undefined) exportModel(model, v['save'] as string, { locus_edit: JSON.stringify({ method, layers: result.layers, problem }) });
    const { edit: _edit, stack: _stack, ...json } = result;
    if (v['json']) return io.out(JSON.stringify({ model: model.manifest, ...json }, null, 2));
    for (const n of result.notes) io.err(`note: ${n}`);
    io.out(`${method} at layer${result.layers.length > 1 ? 's' : ''} ${result.layers.join(', ')} — ${problem}, target "${result.target}" (${result.seconds.toFixed(1)} s)`);
    io.out(`  log p(target):      ${result.pre.targetNewLogprob.toFixed(3)} → ${result.post.targetNewLogprob.toFixed(3)}`);
    io.out(`  log p(target_true): ${result.pre.targetTrueLogprob.toFixed(3)} → ${result.post.targetTrueLogprob.toFixed(3)}`);
    const m = result.metrics;
    const f = (x: number): string => (Number.isNaN(x) ? '—' : x.toFixed(3));
    io.out(`  scores: rewrite ${f(m.rewrite)}  paraphrase ${f(m.paraphrase)}  neighborhood ${f(m.neighborhood)}  overall ${f(m.overall)}`);
    for (const d of result.deltas) io.out(`  ‖Δ ${d.param}‖ = ${d.frobenius.toFixed(4)}`);
    if (v['save'] !== undefined) io.out(`saved the edited model to ${path.resolve(v['save'] as string)}`);
  } finally {
    await model.dispose();
  }
}
