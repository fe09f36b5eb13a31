import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultDatasetPath, DEFAULT_RECIPE, loadCounterFact, trainDefaultModel } from '../../engine/index';
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
    io.out(JSON.stringify(result.log));
  } finally {
    process.off('SIGINT', onSigint);
  }
}
