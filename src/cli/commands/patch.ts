import type { PatchDirection, PatchFact, PatchKind, PatchMetric, PatchResult } from '../../engine/index';
import { chooseCounterfactual, counterfactualFor, defaultDatasetPath, loadCounterFact, LocusError, PATCH_KINDS, patchFactOf, readJsonFile, runPatching } from '../../engine/index';
import { intFlag, parseFlags, UsageError } from '../args';
import type { CliIO } from '../io';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, openModel } from '../openModel';

export const patchHelp = `locus patch [--model M] (--case ID [--dataset FILE] | --request FILE) [--counterfactual SUBJECT]
            [--kinds resid,mlp,attn] [--window W=1] [--noising] [--metric logit-diff|prob-diff] [--heads] [--json]

Activation patching with a counterfactual prompt (symmetric token replacement): the corrupted prompt
puts another subject of the same token length in the subject's place. Each cell copies one clean
activation (token, layer, kind) into the corrupted run and scores m = logit(answer) − logit(the
counterfactual's answer) at the last position, normalised: effect = (m − m_corrupt) / (m_clean − m_corrupt),
1 = the clean behaviour, 0 = the corrupted one.
  --case ID            a CounterFact record (the bundled sample, or --dataset FILE)
  --request FILE       a CounterFact requested_rewrite object (prompt with {}, subject, target_true.str)
  --counterfactual S   the corrupting subject (same token count in the prompt); default: the first
                       record of the same relation whose subject has the same token length and whose
                       answer differs; its target_true is the counterfactual answer
  --kinds              which activations to patch (default resid,mlp,attn: block output, MLP output,
                       attention output)
  --window W           mlp/attn cells patch W layers around their layer (ROME's window; default 1)
  --noising            copy corrupted activations into the clean run instead (effect 1 = unharmed)
  --metric             logit-diff (default) or prob-diff (probability difference)
  --heads              also patch each attention head's output z_h W_O^h per (token, layer) (GPT-2-style models)
${MODEL_FLAGS_HELP}
  --json               print JSON: { tokens, counterfactualTokens, subjectRange, answer, counterfactualAnswer,
                       counterfactualSubject, direction, metric, clean, corrupted, grids: { kind: { window,
                       effect[t][l] } }, effectByLayer, heads?[t][l][h], cells, seconds }`;

function parseKinds(v: string | undefined): PatchKind[] {
  if (v === undefined) return [...PATCH_KINDS];
  const kinds = [...new Set(v.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  for (const k of kinds) if (!PATCH_KINDS.includes(k as PatchKind)) throw new UsageError(`--kinds: "${k}" is not one of ${PATCH_KINDS.join(', ')}`);
  if (kinds.length === 0) throw new UsageError('--kinds is empty');
  return kinds as PatchKind[];
}

const fmt = (x: number): string => (x >= 0 ? ' ' : '') + x.toFixed(2);

function printResult(io: CliIO, r: PatchResult): void {
  const [b, e] = r.subjectRange;
  io.out(`counterfactual: "${r.counterfactualSubject}" (answer ${JSON.stringify(r.counterfactualAnswer.token)}); answer ${JSON.stringify(r.answer.token)}`);
  io.out(`${r.metric} clean ${r.clean.toFixed(4)}, corrupted ${r.corrupted.toFixed(4)}; ${r.direction === 'denoise' ? 'clean → corrupted' : 'corrupted → clean'}, ${r.cells} cells in ${r.seconds.toFixed(1)} s`);
  for (const [kind, grid] of Object.entries(r.grids)) {
    io.out('');
    io.out(`${kind} (window ${grid.window}): effect per token (rows) and layer (columns)`);
    grid.effect.forEach((row, t) => io.out(`${(t >= b && t < e ? '*' : ' ') + JSON.stringify(r.tokens[t]).padEnd(16)} ${row.map(fmt).join(' ')}`));
  }
  if (r.heads) {
    io.out('');
    io.out('heads: largest effect per layer (token, head)');
    r.heads[0].forEach((_, l) => {
      let best = { v: -Infinity, t: 0, h: 0 };
      r.heads!.forEach((row, t) => row[l].forEach((v, h) => (v > best.v ? (best = { v, t, h }) : undefined)));
      io.out(`  layer ${l}: ${fmt(best.v)} at ${JSON.stringify(r.tokens[best.t])} head ${best.h}`);
    });
  }
}

/** A request file's fact: a requested_rewrite object (or a record holding one); target_new is not needed. */
function requestFact(raw: unknown, file: string): PatchFact {
  const obj = (x: unknown): Record<string, unknown> | undefined => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined);
  const top = obj(raw);
  const rw = obj(top?.['requested_rewrite']) ?? top;
  const text = (x: unknown): string | undefined => (typeof x === 'string' ? x : typeof obj(x)?.['str'] === 'string' ? (obj(x)!['str'] as string) : undefined);
  const template = text(rw?.['prompt']);
  const subject = text(rw?.['subject']);
  const answer = text(rw?.['target_true']);
  if (template === undefined || !template.includes('{}') || !subject || !answer?.trim()) {
    throw new LocusError('bad-input', `${file}: needs a requested_rewrite with a prompt holding {}, a subject and target_true.str`);
  }
  const relationId = text(rw?.['relation_id']);
  return { template, subject, answer, ...(relationId !== undefined ? { relationId } : {}) };
}

export async function patchCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(argv, {
    ...MODEL_FLAGS, case: { type: 'string' }, dataset: { type: 'string' }, request: { type: 'string' }, counterfactual: { type: 'string' }, kinds: { type: 'string' },
    window: { type: 'string' }, noising: { type: 'boolean' }, metric: { type: 'string' }, heads: { type: 'boolean' }, json: { type: 'boolean' },
  }, 'patch');
  if (values.help) return io.out(patchHelp);
  const v = values as Record<string, string | boolean | undefined>;
  const str = (k: string): string | undefined => v[k] as string | undefined;
  if ((str('case') === undefined) === (str('request') === undefined)) throw new UsageError('give exactly one of --case ID or --request FILE');
  const kinds = parseKinds(str('kinds'));
  const window = intFlag(str('window'), 'window', 1, 1, 1000);
  const metric = (str('metric') ?? 'logit-diff') as PatchMetric;
  if (metric !== 'logit-diff' && metric !== 'prob-diff') throw new UsageError('--metric must be logit-diff or prob-diff');
  const direction: PatchDirection = v['noising'] ? 'noise' : 'denoise';
  const cfSubject = str('counterfactual');
  if (cfSubject !== undefined && cfSubject.trim() === '') throw new UsageError('--counterfactual is empty');
  const datasetFile = str('dataset') ?? defaultDatasetPath();
  const records = loadCounterFact(datasetFile);
  let fact: PatchFact;
  const request = str('request');
  if (request !== undefined) {
    fact = requestFact(readJsonFile(request, 'request file'), request);
  } else {
    const id = intFlag(str('case'), 'case', 0, 0);
    const rec = records.find((r) => r.case_id === id);
    if (!rec) throw new LocusError('bad-input', `${datasetFile} has no record with case_id ${id}`);
    fact = patchFactOf(rec);
  }
  const model = await openModel(values, io);
  try {
    const cf = cfSubject !== undefined ? await counterfactualFor(model, fact, cfSubject, records) : chooseCounterfactual(model, fact, records);
    const prompt = fact.template.replace('{}', () => fact.subject);
    const result = await runPatching(model, { prompt, subject: fact.subject, counterfactualSubject: cf.subject, answer: fact.answer, counterfactualAnswer: cf.answer, kinds, window, direction, metric, heads: v['heads'] === true });
    if (v['json']) io.out(JSON.stringify(result, null, 2));
    else printResult(io, result);
  } finally {
    await model.dispose();
  }
}
