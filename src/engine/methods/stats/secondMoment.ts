/**
 * C = E[k kᵀ] of the MLP keys: ROME's `layer_stats(..., to_collect=['mom2'])` (kmeng01/rome,
 * rome/layer_stats.py, util/runningstats.py `SecondMoment`, rome/tok_dataset.py).
 *
 * What the reference does, and what this file does the same way:
 * - documents: `sampleDocuments` (ROME's seed-1 `FixedRandomSubsetSampler`), visited in groups of
 *   100 (`batch_size = 100`); each is tokenized alone (no BOS) and truncated to
 *   maxLength = min(n_ctx, batchTokens) tokens (`TokenizedDataset(maxlen=...)`);
 * - batching: `length_collation(batch_tokens)`: a group is sorted longest first and cut into
 *   right-padded sub-batches whose rows × width stays within batchTokens (default 3·min(n_ctx, 2048));
 *   documents with no tokens are skipped;
 * - k: the input of `mlp.c_proj` / `mlp.fc_out` (our `blocks.{l}.mlp.post`) at every real token
 *   (`flatten_masked_batch` drops the padding; here each row's length does);
 * - C = (Σ k kᵀ) / count. ROME sums in `mom2_dtype` (float32); Locus sums in float64 (gram.ts), so C
 *   agrees with the reference to float32 rounding and does not depend on the batching.
 * Unlike ROME's `Trace(stop=True)`, `forward` runs every block, also those above the highest layer asked.
 */
import { LocusError } from '../../errors';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import type { ActName } from '../../model/names';
import { act } from '../../model/names';
import type { RuntimeOptions } from '../../runtime/ort';
import type { StatsCorpus } from './corpus';
import { sampleDocuments } from './corpus';
import { GramSession } from './gram';

/** ROME's `mom2_n_samples` in every shipped hparams file. */
export const DEFAULT_SAMPLE_SIZE = 100_000;
/** The context length whose 3× is the largest default batch (GPT-J's n_positions). */
const MAX_DEFAULT_CONTEXT = 2048;

/** `layer_stats`' DataLoader batch_size: documents tokenized and sorted together. */
const GROUP_DOCS = 100;

export interface SecondMomentOptions {
  /** Tokens kept per document (default: the model's n_ctx; never more than batchTokens). */
  readonly maxLength?: number;
  /** Documents to sample (ROME's `mom2_n_samples`, default 100,000); Infinity = all. */
  readonly sampleSize?: number;
  /** Tokens per forward pass, padding included (default 3·min(n_ctx, 2048); ROME's `batch_tokens` is 3·n_ctx). */
  readonly batchTokens?: number;
  readonly signal?: AbortSignal;
  /** Documents done out of the sampled total; (0, total) first, then after every forward pass. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Options for the Gram session (threads, device). */
  readonly runtime?: RuntimeOptions;
}

/** One layer's statistic. Invariant: mom2.length = dim², symmetric, row-major; count > 0. */
export interface SecondMoment {
  /** Tokens the statistic averages over. */
  readonly count: number;
  readonly dim: number;
  /** Σ k kᵀ / count. */
  readonly mom2: Float64Array;
}

/** The inputs that decide the statistic, resolved from the options (the cache names files by them). */
export interface StatsSettings {
  readonly maxLength: number;
  readonly batchTokens: number;
  readonly sampleSize: number;
  /** Indices into corpus.texts, in visiting order. */
  readonly documents: readonly number[];
}

function positiveInt(v: number | undefined, fallback: number, what: string, allowInfinity = false): number {
  if (v === undefined) return fallback;
  if (!(Number.isInteger(v) && v > 0) && !(allowInfinity && v === Infinity)) {
    throw new LocusError('bad-input', `${what} must be a positive integer, got ${v}`);
  }
  return v;
}

export function resolveStatsSettings(model: LoadedModel, corpus: StatsCorpus, opts: SecondMomentOptions = {}): StatsSettings {
  const nCtx = model.config.n_ctx;
  // ROME's batch_tokens = 3·n_positions (GPT-2: 3,072, GPT-J: 6,144). Models with long contexts
  // (Llama 3: 131,072) would fetch 393k tokens × d_mlp floats per pass (22 GB at d_mlp 14,336):
  // the default is capped at GPT-J's, which changes nothing for the reference's models.
  const batchTokens = positiveInt(opts.batchTokens, 3 * Math.min(nCtx, MAX_DEFAULT_CONTEXT), 'batchTokens');
  // layer_stats: `maxlen = n_positions`, lowered to batch_tokens when that is smaller.
  const maxLength = Math.min(positiveInt(opts.maxLength, nCtx, 'maxLength'), nCtx, batchTokens);
  const sampleSize = positiveInt(opts.sampleSize, DEFAULT_SAMPLE_SIZE, 'sampleSize', true);
  return { maxLength, batchTokens, sampleSize, documents: sampleDocuments(corpus.texts.length, sampleSize) };
}

export function validateLayers(model: LoadedModel, layers: readonly number[]): void {
  const L = model.config.n_layers;
  if (layers.length === 0) throw new LocusError('bad-input', 'no layers given: name at least one');
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= L) throw new LocusError('bad-input', `layer ${l} does not exist: ${model.manifest.name} has layers 0..${L - 1}`);
  }
  if (new Set(layers).size !== layers.length) throw new LocusError('bad-input', `layers ${layers.join(', ')} repeat a layer`);
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new LocusError('cancelled', 'cancelled');
}

/** ROME's `length_collation`: longest first, sub-batches of at most batchTokens padded tokens. */
function collate(docs: number[][], batchTokens: number): number[][][] {
  const sorted = docs.filter((d) => d.length > 0).sort((a, b) => b.length - a.length);
  const batches: number[][][] = [];
  let batch: number[][] = [];
  for (const doc of sorted) {
    if (batch.length > 0 && batch[0].length * (batch.length + 1) > batchTokens) {
      batches.push(batch);
      batch = [];
    }
    batch.push(doc);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Copies the real (unpadded) positions of a [B, pos, d] activation into `out`, returning the row count. */
function gatherReal(data: Float32Array, pos: number, d: number, lengths: readonly number[], out: Float32Array): number {
  let n = 0;
  lengths.forEach((len, b) => {
    out.set(data.subarray(b * pos * d, (b * pos + len) * d), n * d);
    n += len;
  });
  return n;
}

/**
 * Σ k kᵀ / count for each of `layers`, all collected in one pass over the sampled documents.
 * Throws LocusError 'cancelled' (checked between forward passes) or 'bad-input'.
 */
export async function computeSecondMoment(model: LoadedModel, layers: readonly number[], corpus: StatsCorpus, opts: SecondMomentOptions = {}): Promise<Map<number, SecondMoment>> {
  validateLayers(model, layers);
  const { maxLength, batchTokens, documents } = resolveStatsSettings(model, corpus, opts);
  const d = model.config.d_mlp;
  const sites: ActName[] = layers.map((l) => act.mlp(l, 'post'));
  const sums = layers.map(() => new Float64Array(d * d));
  const ctx = forwardContext(model);
  const total = documents.length;
  let done = 0;
  let count = 0;
  opts.onProgress?.(0, total);
  checkAborted(opts.signal);
  const gram = await GramSession.create(d, opts.runtime);
  try {
    let rows = new Float32Array(0);
    for (let g = 0; g < total; g += GROUP_DOCS) {
      const group = documents.slice(g, g + GROUP_DOCS).map((i) => model.tokenizer.encode(corpus.texts[i]).ids.slice(0, maxLength));
      const batches = collate(group, batchTokens);
      // Documents without tokens are done at once; a group of only such documents still reports.
      done += group.filter((ids) => ids.length === 0).length;
      if (batches.length === 0) opts.onProgress?.(done, total);
      for (const batch of batches) {
        checkAborted(opts.signal);
        const res = await forward(ctx, batch, { fetch: sites, logits: 'none', signal: opts.signal });
        const real = res.lengths.reduce((a, b) => a + b, 0);
        if (rows.length < real * d) rows = new Float32Array(real * d);
        for (let i = 0; i < layers.length; i++) {
          const t = res.acts.get(sites[i])!;
          const n = gatherReal(t.data, t.shape[1], d, res.lengths, rows);
          await gram.addInto(sums[i], rows, n);
        }
        count += real;
        done += batch.length;
        opts.onProgress?.(done, total);
      }
    }
  } finally {
    await gram.release();
  }
  if (count === 0) throw new LocusError('bad-input', `corpus ${corpus.name} has no tokens in the ${total} documents sampled`);
  const out = new Map<number, SecondMoment>();
  layers.forEach((l, i) => {
    const mom2 = sums[i];
    for (let j = 0; j < mom2.length; j++) mom2[j] /= count;
    out.set(l, { count, dim: d, mom2 });
  });
  return out;
}
