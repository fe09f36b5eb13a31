import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../errors';
import { encodeModel } from '../graph/proto';
import type { ModelConfig } from '../model/config';
import type { ParamName } from '../model/names';
import { openSafetensorsFile, writeSafetensors } from '../model/safetensors';
import { adamStep, clipGradNorm, newAdamState } from '../optim/adam';
import type { AdamState } from '../optim/adam';
import { RuntimeSession } from '../runtime/ort';
import type { Example } from './corpus';
import { batchFeeds, makeBatches } from './batches';
import { buildLmTrainingGraph } from './lmGraph';
import { seededRandom } from './rng';

export interface LmTrainOptions {
  readonly seed: number;
  /** Identifies everything else that shapes the run (corpus, schedule): a checkpoint of another recipe is refused, not resumed. */
  readonly recipe?: string;
  readonly epochs: number;
  readonly tokensPerBatch: number;
  readonly lr: number;
  /** Cosine decay from lr to lr·minLrRatio after a linear warm-up. */
  readonly minLrRatio: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  readonly threads?: number;
  /** Folder for resumable checkpoints (written atomically every `checkpointEvery` steps and at each epoch end). */
  readonly checkpointDir: string;
  readonly checkpointEvery: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TrainProgress) => void;
  /** Called after each epoch with the current parameters; its numbers go into the log. */
  readonly evaluate?: (epoch: number, param: (n: ParamName) => { shape: readonly number[]; data: Float32Array }) => Promise<Record<string, number>>;
}

export interface TrainProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly loss: number;
  readonly lr: number;
  readonly tokensPerSecond: number;
  readonly seconds: number;
}

interface Checkpoint {
  step: number;
  epoch: number;
  batchInEpoch: number;
  seconds: number;
  tokens: number;
  seed: number;
  /** The run's recipe id (absent in checkpoints written before it was recorded). */
  recipe?: string;
  log: Array<Record<string, number>>;
}

const decays = (name: string): boolean => /W_|W_E|W_pos/.test(name);

function lrAt(step: number, total: number, o: LmTrainOptions): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const t = Math.min(1, (step - o.warmupSteps) / Math.max(1, total - o.warmupSteps));
  return o.lr * (o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

function saveCheckpoint(dir: string, params: Map<ParamName, Float32Array>, shapes: Map<ParamName, readonly number[]>, adam: AdamState, ck: Checkpoint): void {
  fs.mkdirSync(dir, { recursive: true });
  const tensors: Array<{ name: string; tensor: { shape: readonly number[]; data: Float32Array } }> = [];
  for (const [name, data] of params) {
    const shape = shapes.get(name)!;
    tensors.push({ name, tensor: { shape, data } });
    const m = adam.m.get(name);
    const v = adam.v.get(name);
    if (m && v) tensors.push({ name: `adam.m.${name}`, tensor: { shape, data: m } }, { name: `adam.v.${name}`, tensor: { shape, data: v } });
  }
  writeSafetensors(path.join(dir, 'checkpoint.safetensors'), tensors, { adamStep: String(adam.step) });
  const tmp = path.join(dir, 'checkpoint.json.tmp');
  fs.writeFileSync(tmp, JSON.stringify(ck, null, 1));
  fs.renameSync(tmp, path.join(dir, 'checkpoint.json'));
}

function loadCheckpoint(dir: string, params: Map<ParamName, Float32Array>, adam: AdamState, seed: number, recipe: string | undefined): Checkpoint | undefined {
  const file = path.join(dir, 'checkpoint.json');
  if (!fs.existsSync(file)) return undefined;
  const ck = JSON.parse(fs.readFileSync(file, 'utf8')) as Checkpoint;
  if (ck.seed !== seed) throw new LocusError('bad-input', `${dir} holds a checkpoint of a run with seed ${ck.seed}, not ${seed}: remove it or pass that seed`);
  if (recipe !== undefined && ck.recipe !== undefined && ck.recipe !== recipe) {
    throw new LocusError('bad-input', `${dir} holds a checkpoint of another training recipe (${ck.recipe}, not ${recipe}): remove it (or train with --fresh)`);
  }
  const store = openSafetensorsFile(path.join(dir, 'checkpoint.safetensors'));
  try {
    for (const [name, data] of params) {
      data.set(store.read(name).data);
      if (store.has(`adam.m.${name}`)) {
        adam.m.set(name, store.read(`adam.m.${name}`).data);
        adam.v.set(name, store.read(`adam.v.${name}`).data);
      }
    }
    adam.step = Number(store.metadata['adamStep'] ?? 0);
  } finally {
    store.close();
  }
  return ck;
}

/** Epoch `epoch`'s batches, in training order: the trainer's, and what scripts/shape-search exports for its replica. */
export function epochBatches(examples: readonly Example[], o: Pick<LmTrainOptions, 'seed' | 'tokensPerBatch'>, epoch: number): Example[][] {
  return makeBatches(examples, o.tokensPerBatch, seededRandom(o.seed * 1000 + epoch));
}

/**
 * Trains a GPT-2 language model in place on `params` with AdamW, one fused forward+backward ORT graph
 * per step. Deterministic for a seed: epoch e's batches come from `epochBatches`, so a run
 * resumed from a checkpoint continues with exactly the batches and optimizer state it stopped with.
 */
export async function trainLm(cfg: ModelConfig, params: Map<ParamName, Float32Array>, shapes: Map<ParamName, readonly number[]>, epochExamples: (epoch: number) => Example[], o: LmTrainOptions): Promise<{ log: Array<Record<string, number>>; seconds: number; tokens: number }> {
  const param = (n: ParamName) => ({ shape: shapes.get(n)!, data: params.get(n)! });
  const graph = buildLmTrainingGraph(cfg, param);
  const session = await RuntimeSession.create('lm-train', encodeModel(graph.spec, 20), { threads: o.threads });
  const adam = newAdamState();
  const ck: Checkpoint = loadCheckpoint(o.checkpointDir, params, adam, o.seed, o.recipe) ?? { step: 0, epoch: 0, batchInEpoch: 0, seconds: 0, tokens: 0, seed: o.seed, recipe: o.recipe, log: [] };
  const batchesOf = (epoch: number) => epochBatches(epochExamples(epoch), o, epoch);
  let batches = batchesOf(ck.epoch);
  // The schedule's length comes from epoch 0 whatever epoch a resumed run starts in (epochs may differ
  // in size when their statements are drawn at random), so a resumed run follows the same lr curve.
  const totalSteps = (ck.epoch === 0 ? batches : batchesOf(0)).length * o.epochs;
  const t0 = Date.now() - ck.seconds * 1000;
  let ema = NaN;
  try {
    while (ck.epoch < o.epochs) {
      for (; ck.batchInEpoch < batches.length; ck.batchInEpoch++) {
        if (o.signal?.aborted) {
          ck.seconds = (Date.now() - t0) / 1000;
          saveCheckpoint(o.checkpointDir, params, shapes, adam, ck);
          throw new LocusError('cancelled', `training cancelled at step ${ck.step}; a checkpoint was saved in ${o.checkpointDir}`);
        }
        const { feeds, tokens } = batchFeeds(batches[ck.batchInEpoch], cfg.eosTokenId);
        for (const name of graph.params) feeds[name] = param(name);
        const out = await session.run(feeds, graph.outputs);
        const grads = new Map(graph.params.map((n) => [n as string, out[`grad.${n}`].data]));
        clipGradNorm(grads, o.clipNorm);
        const lr = lrAt(ck.step, totalSteps, o);
        adamStep(params, grads, adam, { lr, weightDecay: o.weightDecay, decoupled: true, decays });
        const loss = out['loss'].data[0];
        ema = Number.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
        ck.step++;
        ck.tokens += tokens;
        const seconds = (Date.now() - t0) / 1000;
        o.onProgress?.({ step: ck.step, totalSteps, epoch: ck.epoch, loss: ema, lr, tokensPerSecond: ck.tokens / seconds, seconds });
        if (ck.step % o.checkpointEvery === 0) {
          ck.seconds = seconds;
          ck.batchInEpoch++;
          saveCheckpoint(o.checkpointDir, params, shapes, adam, ck);
          ck.batchInEpoch--;
        }
      }
      const metrics = o.evaluate ? await o.evaluate(ck.epoch, param) : {};
      ck.log.push({ epoch: ck.epoch, step: ck.step, loss: ema, seconds: (Date.now() - t0) / 1000, ...metrics });
      ck.epoch++;
      ck.batchInEpoch = 0;
      ck.seconds = (Date.now() - t0) / 1000;
      saveCheckpoint(o.checkpointDir, params, shapes, adam, ck);
      if (ck.epoch < o.epochs) batches = batchesOf(ck.epoch);
    }
  } finally {
    await session.release();
  }
  return { log: ck.log, seconds: (Date.now() - t0) / 1000, tokens: ck.tokens };
}
