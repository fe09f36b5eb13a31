import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { defaultDatasetPath, DEFAULT_RECIPE, evaluateFacts, loadCounterFact, loadModel, trainDefaultModel, writeModelCard } from '../../engine/index';
import { intFlag, parseFlags } from '../args';
import type { CliIO } from '../io';

export const trainDefaultHelp = `locus train-default-model [--out DIR] [--checkpoints DIR] [--epochs N] [--threads N] [--fresh]

Trains the embedded default model (tokenizer + GPT-2) on the bundled CounterFact sample and WikiText-2,
deterministically (seed ${DEFAULT_RECIPE.seed}), printing progress. Interrupt it at any time (Ctrl-C): it saves a
checkpoint and the same command resumes from it.
  --out DIR          model folder to write (default assets/default-model)
  --checkpoints DIR  resumable state (default .locus/train-default-model)
  --epochs N         override the recipe's ${DEFAULT_RECIPE.train.epochs} epochs
  --fresh            discard existing checkpoints first`;

/** The package root: the folder above this file holding package.json. */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

export async function trainDefaultCommand(argv: string[], io: CliIO): Promise<void> {
  const { values } = parseFlags(argv, { out: { type: 'string' }, checkpoints: { type: 'string' }, epochs: { type: 'string' }, threads: { type: 'string' }, fresh: { type: 'boolean' } }, 'train-default-model');
  if (values.help) return io.out(trainDefaultHelp);
  const root = packageRoot();
  const outDir = path.resolve((values.out as string | undefined) ?? path.join(root, 'assets', 'default-model'));
  const checkpointDir = path.resolve((values.checkpoints as string | undefined) ?? path.join(root, '.locus', 'train-default-model'));
  if (values.fresh) fs.rmSync(checkpointDir, { recursive: true, force: true });
  const wikiDir = path.join(root, 'assets', 'data', 'wikitext-2-raw');
  const wikiTexts = ['wiki.valid.raw', 'wiki.test.raw'].map((f) => fs.readFileSync(path.join(wikiDir, f), 'utf8'));
  const controller = new AbortController();
  const onSigint = (): void => {
    io.err('interrupt: saving a checkpoint…');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    const t0 = Date.now();
    const result = await trainDefaultModel({
      records: loadCounterFact(defaultDatasetPath()),
      wikiTexts,
      outDir,
      checkpointDir,
      epochs: values.epochs === undefined ? undefined : intFlag(values.epochs as string, 'epochs', 1),
      threads: values.threads === undefined ? undefined : intFlag(values.threads as string, 'threads', 1),
      signal: controller.signal,
      log: (line) => io.out(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
    });
    io.out(`done: ${outDir} (training ${(result.seconds / 60).toFixed(1)} min, this run ${((Date.now() - t0) / 60000).toFixed(1)} min)`);
    await writeCard(outDir, result, io);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Evaluates the written model on every record and writes its MODEL_CARD.md. */
async function writeCard(outDir: string, result: { seconds: number; tokens: number; log: Array<Record<string, number>> }, io: CliIO): Promise<void> {
  const model = await loadModel(outDir);
  try {
    const records = loadCounterFact(defaultDatasetPath());
    const { accuracy } = await evaluateFacts(model, records, {});
    io.out(`accuracy over ${records.length} records: requested ${accuracy.rewrite.toFixed(3)}, paraphrase ${accuracy.paraphrase.toFixed(3)}, neighborhood ${accuracy.neighborhood.toFixed(3)}`);
    const folderBytes = fs.readdirSync(outDir).reduce((n, f) => n + fs.statSync(path.join(outDir, f)).size, 0);
    writeModelCard(outDir, {
      trainingMinutes: result.seconds / 60,
      tokensPerSecond: result.tokens / result.seconds,
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      epochLog: result.log,
      accuracy: { ...accuracy, records: records.length },
      parameters: model.manifest.parameters,
      folderBytes,
      date: new Date().toISOString().slice(0, 10),
    });
  } finally {
    await model.dispose();
  }
}
