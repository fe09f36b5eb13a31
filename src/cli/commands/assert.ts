import * as path from 'node:path';
import type { FactOutcome } from '../../engine/index';
import { checkFacts, checkFileTarget, decodeEdit, EditStack, isFolder, junitXml, parseFactsFile, readEditSource, readJsonFile, readTextFile, writeTextAtomic } from '../../engine/index';
import { parseFlags, UsageError } from '../args';
import type { CliIO } from '../io';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, openModel } from '../openModel';

export const assertHelp = `locus assert FILE [--model M] [--edits FILE...] [--junit OUT.xml] [--json]

Pins facts in CI: checks every line of FILE against the model. Exit status 0 when every line holds,
1 when any fails (one line per failure: the prompt, what was expected, what the model gave), 2 on bad
input (a malformed line is named by its number).
FILE holds JSON lines (blank lines and lines starting with # are skipped):
  { "prompt": "The Eiffel Tower is in the city of", "expect": " Paris", "minProb": 0.5, "maxRank": 1,
    "forbid": [" Rome"], "protocol": "first-token" }
  expect / forbid   answers taken verbatim, as the text after the prompt (mind the leading space)
  maxRank           the expected answer's rank must be at most this (default 1: the top token)
  minProb           its probability must be at least this (optional)
  forbid            none of these may be as probable as the expected answer (optional)
  protocol          first-token (default): the answer's first token after the prompt (as locus eval);
                    sequence: the whole answer teacher-forced — probability = product over its tokens,
                    rank = its worst token's rank (maxRank 1 = greedy decoding gives the answer)
  --edits FILE...   apply these edits first, in order (each the JSON of locus edit --json or a sequential
                    run folder, made on this model: another model's edit is refused); repeat the flag
  --junit OUT.xml   also write a JUnit XML report (one testcase per line), atomically
${MODEL_FLAGS_HELP}
  --json            print JSON: { file, passed, failed, results: [{ line, prompt, expect, protocol, passed,
                    prob, rank, gave, forbidden, reasons, message }] }`;

function resultJson(o: FactOutcome) {
  const c = o.check;
  return {
    line: c.line, prompt: c.prompt, expect: c.expect, protocol: c.protocol, maxRank: c.maxRank, ...(c.minProb !== undefined ? { minProb: c.minProb } : {}),
    passed: o.passed, prob: o.expected.prob, rank: o.expected.rank, gave: o.gave, forbidden: o.forbidden, reasons: o.reasons, message: o.message,
  };
}

/** Returns the exit status: 0 every fact holds, 1 some fail (bad input throws, which main turns into 2). */
export async function assertCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...MODEL_FLAGS, edits: { type: 'string', multiple: true }, junit: { type: 'string' }, json: { type: 'boolean' } }, 'assert');
  if (values.help) {
    io.out(assertHelp);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`give exactly one facts file (got ${positionals.length}; see "locus assert --help")`);
  const file = positionals[0];
  // Everything is read and checked before the model loads: a typo costs a second, not a load.
  const checks = parseFactsFile(readTextFile(file, 'facts file'), file);
  // Edit files are parsed now (a typo fails before the load) and checked against the model after it.
  const editFiles = (values.edits as string[] | undefined) ?? [];
  // A folder is a sequential run (read after the load, against the model's fingerprint).
  const editJsons = editFiles.map((f) => (isFolder(f) ? undefined : readJsonFile(f, '--edits')));
  const junit = values.junit as string | undefined;
  if (junit !== undefined) checkFileTarget(junit, '--junit');
  const model = await openModel(values, io);
  try {
    // Applied in the order given; the process ends afterwards, and the model's files are never written.
    const stack = new EditStack(model);
    for (const [i, json] of editJsons.entries()) {
      await stack.apply(json !== undefined ? decodeEdit(json, model, `--edits ${editFiles[i]}`) : readEditSource(editFiles[i], model, '--edits'));
    }
    const t0 = Date.now();
    const outcomes = await checkFacts(model, checks);
    const seconds = (Date.now() - t0) / 1000;
    const failed = outcomes.filter((o) => !o.passed);
    if (junit !== undefined) {
      const properties = {
        model: model.manifest.name, 'model.path': model.manifest.path, 'model.fingerprint': model.manifest.fingerprint,
        ...(editFiles.length > 0 ? { edits: editFiles.map((f) => path.resolve(f)).join(path.delimiter) } : {}),
      };
      writeTextAtomic(junit, junitXml({ name: path.basename(file), outcomes, seconds, properties }), '--junit report');
    }
    if (values.json) {
      io.out(JSON.stringify({ model: model.manifest, file, ...(editFiles.length > 0 ? { edits: editFiles } : {}), passed: outcomes.length - failed.length, failed: failed.length, results: outcomes.map(resultJson) }, null, 2));
    } else {
      for (const o of failed) io.out(`FAIL ${o.message}`);
      const edited = editFiles.length > 0 ? ` with ${editFiles.length} edit${editFiles.length === 1 ? '' : 's'} applied` : '';
      io.out(`${outcomes.length} fact${outcomes.length === 1 ? '' : 's'} checked against ${model.manifest.name}${edited}: ${outcomes.length - failed.length} passed, ${failed.length} failed`);
      if (junit !== undefined) io.out(`JUnit report: ${path.resolve(junit)}`);
    }
    return failed.length > 0 ? 1 : 0;
  } finally {
    await model.dispose();
  }
}
