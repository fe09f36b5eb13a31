import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ParamGetter } from '../graph/segments';
import { checkDevice } from '../runtime/device';
import type { RuntimeOptions } from '../runtime/ort';
import { LocusError } from '../errors';
import { fsError } from '../files/read';
import { readConfig } from './config';
import type { ModelConfig } from './config';
import { repoIdOfSnapshot } from './hfCache';
import { resolveModelFolder } from './locate';
import { WeightFeeder } from './fedWeights';
import type { HalfSource } from './fedWeights';
import { widenHalf } from './safetensors';
import type { TableRows } from './mappedWeights';
import { ParamOverrides } from './overrides';
import { SessionCache } from './sessions';
import { loadTokenizer } from './tokenizer';
import type { LocusTokenizer } from './tokenizer';
import type { ParamName } from './names';
import { checkWeightHeaders, loadWeights } from './weights';

/** What every result records about the model it came from. */
export interface ModelManifest {
  readonly name: string;
  readonly path: string;
  readonly architecture: ModelConfig['modelType'];
  readonly n_layers: number;
  readonly d_model: number;
  readonly n_heads: number;
  readonly d_vocab: number;
  readonly n_ctx: number;
  readonly parameters: number;
  /** sha256 over config.json and each weights file's size + header: changes whenever the weights do, without hashing gigabytes. */
  readonly fingerprint: string;
  readonly device: string;
}

export interface LoadedModel {
  readonly config: ModelConfig;
  readonly tokenizer: LocusTokenizer;
  readonly manifest: ModelManifest;
  /**
   * For the user, once: unused tensors, and NaN/Inf weights loaded under `allowNonFinite`. A model
   * too large to check at load (weights.ts CHECK_AT_LOAD_BYTES) appends here when a tensor is first read.
   */
  readonly warnings: readonly string[];
  /** Current parameter values: the file's, or an applied edit's. */
  readonly param: ParamGetter;
  readonly overrides: ParamOverrides;
  readonly sessions: SessionCache;
  /**
   * A lean model forgets the float32 copy of a file value it read (it is read again when needed), so a
   * pass over every parameter (an export) never holds the whole model twice; a no-op otherwise.
   */
  forget?(name: ParamName): void;
  /** A lean model's mapped tables (embeddings) read a few rows from the file instead of the whole table (mappedWeights.ts). */
  readonly tables?: TableRows;
  dispose(): Promise<void>;
}

/**
 * A short id of the weights: config.json, each safetensors file's name and size, its first MiB (header
 * and first tensors) and 32 blocks of 64 KiB spread evenly over the rest, so a change in any layer's
 * weights (a retrained or fine-tuned copy) is seen without reading gigabytes. Keys the statistics cache,
 * a study's manifest and the extension's saved edits.
 */
function fingerprint(folder: string): string {
  const h = crypto.createHash('sha256');
  h.update(fs.readFileSync(path.join(folder, 'config.json')));
  for (const f of fs.readdirSync(folder).filter((n) => n.endsWith('.safetensors')).sort()) {
    const fd = fs.openSync(path.join(folder, f), 'r');
    try {
      const size = fs.fstatSync(fd).size;
      h.update(`${f}:${size}:`);
      const read = (offset: number, length: number): void => {
        const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
        fs.readSync(fd, buf, 0, buf.length, offset);
        h.update(buf);
      };
      const HEAD = 1 << 20;
      const BLOCK = 1 << 16;
      const BLOCKS = 32;
      read(0, HEAD);
      if (size > HEAD) for (let i = 1; i <= BLOCKS; i++) read(HEAD + Math.floor(((size - HEAD - BLOCK) * i) / BLOCKS), BLOCK);
    } finally {
      fs.closeSync(fd);
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** `fingerprint`, closing the weights and naming the file when one cannot be read (a stray unreadable shard). */
function fingerprintOrClose(folder: string, store: { close(): void }): string {
  try {
    return fingerprint(folder);
  } catch (e) {
    store.close();
    if (e instanceof LocusError) throw e;
    const file = (e as NodeJS.ErrnoException).path ?? folder;
    throw fsError(e, file, 'model file');
  }
}

/**
 * The cheap part of `loadModel`'s checks (the folder, config.json and its architecture, the tokenizer),
 * without touching the weights: a caller about to free another model first can refuse a wrong folder
 * while that model is still loaded. Throws the same errors as `loadModel`.
 */
export function checkModelFolder(spec: string): void {
  const folder = resolveModelFolder(spec);
  const config = readConfig(folder);
  checkTokenizerFits(loadTokenizer(folder), config, folder);
  checkWeightHeaders(folder, config);
}

/**
 * A tokenizer from another model (more ids than the embedding has rows) would make the first forward
 * pass fail inside onnxruntime ("indices element out of data bounds"): refuse it at load, by name.
 * Fewer tokenizer ids than rows is normal (GPT-J pads its embedding to 50,400).
 */
function checkTokenizerFits(tokenizer: LocusTokenizer, config: ModelConfig, folder: string): void {
  const fmt = (n: number): string => n.toLocaleString('en-US');
  if (tokenizer.vocabSize > config.d_vocab) {
    throw new LocusError(
      'bad-config',
      `${folder}: the tokenizer has ${fmt(tokenizer.vocabSize)} tokens but config.json's "vocab_size" is ${fmt(config.d_vocab)}: the tokenizer files are from another model`,
    );
  }
  if (tokenizer.eosTokenId >= config.d_vocab) {
    throw new LocusError('bad-config', `${folder}: the tokenizer's end-of-sequence id ${tokenizer.eosTokenId} is not below config.json's "vocab_size" ${fmt(config.d_vocab)}`);
  }
}

/**
 * How many bytes of widened float32 weights a 16-bit model keeps beside its 16-bit copy: one GPT-J
 * block (805 MB) or its head (825 MB), so a trace's repeated runs of one block widen it once.
 */
const LEAN_HALF_BUDGET_BYTES = 2 ** 30;

/** How to load: the runtime's options plus what to accept in the weights. */
export interface LoadOptions extends RuntimeOptions {
  /** Weights holding NaN/Inf load with a warning instead of failing (the default refuses them). */
  readonly allowNonFinite?: boolean;
  /** Lean weights (weights.ts WeightOptions.lean): default 'auto', i.e. for models above 1 GiB; 'auto-mapped' also maps float32 ones above 256 MiB, prepacked. */
  readonly lean?: boolean | 'auto' | 'auto-mapped';
  /** Lean float32 weights mapped by ORT from the file (weights.ts WeightOptions.map; default true). */
  readonly map?: boolean;
  /** ORT prepacks mapped weights (weights.ts WeightOptions.prepack). */
  readonly prepack?: boolean;
}

/**
 * Loads a Hugging Face folder (or "default", the embedded model): config, tokenizer and a lazy view
 * of the weights, validated by name and shape. Graph sessions are built on first use.
 */
export async function loadModel(spec: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const folder = resolveModelFolder(spec);
  const config = readConfig(folder);
  const tokenizer = loadTokenizer(folder);
  checkTokenizerFits(tokenizer, config, folder);
  // A GPU that cannot start is said now, in one line, rather than at the first forward pass.
  await checkDevice(options.device ?? 'cpu');
  const weights = loadWeights(folder, config, { allowNonFinite: options.allowNonFinite, lean: options.lean, map: options.map, prepack: options.prepack });
  const overrides: ParamOverrides = new ParamOverrides((name) => weights.params.get(name), () => sessions);
  const param: ParamGetter = overrides.get;
  // Lean: one copy of the weights, fed to every session; 16-bit models widen on demand and drop the widened copies.
  const half = weights.half;
  const halfSource: HalfSource | undefined = half && {
    isHalf: (name) => half.isHalf(name) && !overrides.names().includes(name),
    widen: (name, into) => {
      const t = half.get(name);
      return { shape: [...t.shape], data: widenHalf(t.data, t.dtype, into) };
    },
    floatBytes: (name) => 4 * weights.params.shape(name).reduce((a, b) => a * b, 1),
  };
  // Mapped float32 weights (mappedWeights.ts) are read instead once an edit replaces them.
  const mapped = weights.mapped?.unless((name) => overrides.names().includes(name));
  const feeder = weights.lean ? new WeightFeeder(param, halfSource, LEAN_HALF_BUDGET_BYTES, mapped) : undefined;
  const sessions = new SessionCache(config, param, options, feeder);
  const manifest: ModelManifest = {
    // A snapshot of the Hugging Face cache is called by its repo (org/name), not by its commit hash.
    name: repoIdOfSnapshot(folder) ?? path.basename(folder),
    path: folder,
    architecture: config.modelType,
    n_layers: config.n_layers,
    d_model: config.d_model,
    n_heads: config.n_heads,
    d_vocab: config.d_vocab,
    n_ctx: config.n_ctx,
    parameters: weights.params.names().reduce((n, name) => n + weights.params.shape(name).reduce((a, b) => a * b, 1), 0),
    fingerprint: fingerprintOrClose(folder, weights.store),
    device: options.device ?? 'cpu',
  };
  return {
    config,
    tokenizer,
    manifest,
    warnings: weights.warnings,
    param,
    overrides,
    sessions,
    tables: mapped?.table,
    forget: (name) => {
      if (weights.lean) weights.params.drop(name);
    },
    async dispose() {
      await sessions.releaseAll();
      weights.store.close();
    },
  };
}
