import * as path from 'node:path';
import { DEFAULT_EVAL_BATCH, defaultDatasetPath, evaluateFacts, loadCounterFact, LocusError, parseCaseSpec, selectCases, selectKnown } from '../../engine/index';
import { intFlag, parseFlags } from '../args';
import type { CliIO } from '../io';
import { processIO } from '../io';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, openModel } from '../openModel';

export const evalHelp = `locus eval [--model M] [--dataset FILE] [--cases SPEC] [--limit N] [--json]

Which CounterFact facts a model knows: is target_true's first token the top-1 next token after the
requested prompt (rewrite), and in what fraction of the paraphrase and neighborhood prompts.
  --dataset FILE CounterFact records, ROME's full schema: a JSON array or JSON lines
                 (default: the bundled 2,191-record sample)
  --cases SPEC   case_ids and inclusive ranges ("0-99", "12,40,77", "0-9,40"), in file order,
                 or "known:N" (the first N records, in file order, the model gets right)
  --limit N      use only the first N records of the candidates: the --cases selection, or the
                 whole file for known:N (like ROME's dataset_size_limit)
  --batch N      prompts per forward pass (default ${DEFAULT_EVAL_BATCH})
${MODEL_FLAGS_HELP}
  --json         print JSON: { model, dataset, cases: [{ caseId, rewrite, prob, paraphrase,
                 neighborhood }], accuracy: { rewrite, paraphrase, neighborhood } }`;

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export async function evalCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(
    argv,
    { ...MODEL_FLAGS, dataset: { type: 'string' }, cases: { type: 'string' }, limit: { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' } },
    'eval',
  );
  if (values.help) return io.out(evalHelp);
  const limit = values.limit === undefined ? undefined : intFlag(values.limit as string, 'limit', 1);
  // A batch holds batch × context × vocabulary logits: beyond 1,024 prompts it only costs memory.
  const batchSize = intFlag(values.batch as string | undefined, 'batch', DEFAULT_EVAL_BATCH, 1, 1024);
  // Parse everything cheap before loading the model, so a typo fails at once.
  const spec = values.cases === undefined ? undefined : parseCaseSpec(values.cases as string);
  const dataset = path.resolve((values.dataset as string | undefined) ?? defaultDatasetPath());
  const all = loadCounterFact(dataset);
  const pool = spec?.kind === 'ids' ? selectCases(all, spec, dataset) : all;
  const candidates = limit === undefined ? pool : pool.slice(0, limit);

  // Progress only for a person watching: never in --json, never into a pipe or a test's collector.
  const tty = !values.json && io === processIO && process.stderr.isTTY === true;
  const progress = (label: string) => (done: number, total: number) => {
    if (tty) process.stderr.write(`\r${label} ${done}/${total}`);
  };
  const clear = (): void => {
    if (tty) process.stderr.write('\r\x1b[K');
  };

  const model = await openModel(values, io);
  try {
    let records = candidates;
    if (spec?.kind === 'known') {
      const found = await selectKnown(model, candidates, spec.n, { batchSize, onProgress: progress('finding known facts: records') });
      clear();
      if (found.records.length === 0) {
        throw new LocusError('bad-input', `${model.manifest.name} gets none of the ${found.scanned} records of ${dataset} right, so known:${spec.n} selects nothing`);
      }
      if (found.records.length < spec.n) io.err(`locus eval: only ${found.records.length} of the ${found.scanned} records are known facts (known:${spec.n} asked for ${spec.n})`);
      records = found.records;
    }
    const t0 = performance.now();
    const result = await evaluateFacts(model, records, { batchSize, onProgress: progress('evaluating: prompts') });
    const seconds = (performance.now() - t0) / 1000;
    clear();
    if (result.truncated > 0) {
      io.err(`locus eval: note: ${result.truncated} prompt(s) longer than ${model.manifest.name}'s context window (${model.config.n_ctx} tokens) were cut to their last ${model.config.n_ctx} tokens`);
    }
    if (values.json) return io.out(JSON.stringify({ model: model.manifest, dataset, cases: result.cases, accuracy: result.accuracy }, null, 2));

    const m = model.manifest;
    io.out(`model    ${m.name} (${m.architecture}, ${m.n_layers} layers, d_model ${m.d_model})`);
    io.out(`dataset  ${dataset}: ${records.length} of ${all.length} records`);
    // Per relation: which kinds of fact the model knows (relation_id is a Wikidata property).
    const byRelation = new Map<string, { n: number; rewrite: number; paraphrase: number; neighborhood: number }>();
    records.forEach((r, i) => {
      const c = result.cases[i];
      const key = r.requested_rewrite.relation_id;
      const s = byRelation.get(key) ?? { n: 0, rewrite: 0, paraphrase: 0, neighborhood: 0 };
      s.n++;
      s.rewrite += c.rewrite ? 1 : 0;
      s.paraphrase += c.paraphrase;
      s.neighborhood += c.neighborhood;
      byRelation.set(key, s);
    });
    const row = (name: string, n: number, a: number, b: number, c: number): string =>
      `${name.padEnd(9)} ${String(n).padStart(6)} ${pct(a).padStart(8)} ${pct(b).padStart(11)} ${pct(c).padStart(13)}`;
    io.out('');
    io.out(`${'relation'.padEnd(9)} ${'cases'.padStart(6)} ${'rewrite'.padStart(8)} ${'paraphrase'.padStart(11)} ${'neighborhood'.padStart(13)}`);
    const rels = [...byRelation.entries()].sort((x, y) => y[1].n - x[1].n || x[0].localeCompare(y[0]));
    for (const [rel, s] of rels) io.out(row(rel, s.n, s.rewrite / s.n, s.paraphrase / s.n, s.neighborhood / s.n));
    const acc = result.accuracy;
    io.out(row('all', records.length, acc.rewrite, acc.paraphrase, acc.neighborhood));
    io.out('');
    io.out(`accuracy rewrite ${acc.rewrite.toFixed(4)}  paraphrase ${acc.paraphrase.toFixed(4)}  neighborhood ${acc.neighborhood.toFixed(4)}`);
    const prompts = records.reduce((n, r) => n + 1 + r.paraphrase_prompts.length + r.neighborhood_prompts.length, 0);
    io.out(`${prompts} prompts in ${seconds.toFixed(2)} s (${Math.round(prompts / seconds)} prompts/s)`);
  } finally {
    clear();
    await model.dispose();
  }
}
