/**
 * A disk cache for `computeSecondMoment`, one file per layer, like ROME's `tally(cache=...)` with
 * `{stats_dir}/{model}/{ds}_stats/{layer}_{precision}_mom2_{N}.npz` (kmeng01/rome, rome/layer_stats.py).
 *
 * Layout: `{cacheDir}/{model name}-{fingerprint}/{corpus}-{sha256[:16]}_stats/
 * blocks.{l}.mlp.post[+edits-{sha}]_float32_mom2_t{maxLength}_{documents}.safetensors` holding one F32 tensor
 * `mom2` = C (not the sum), plus a `.json` sidecar with every input and the count. The name carries
 * every input that changes C; the sidecar repeats them and the tensor's sha256, and a file is used
 * only when all of them match (anything else: a warning through `log`, then recompute and overwrite).
 *
 * In-memory edits (`model.overrides`) that change layer l's keys (embeddings, blocks below l, block l
 * but for its W_out/b_out) add their sha256 to the key, so stats of an edited model never pass for
 * the original's. ROME computes C once on the unedited model and reuses it across edits: to match it,
 * compute before editing; a ROME edit of layer l (its W_out) leaves layer l's entry valid.
 *
 * Precision: C is stored as float32 (ROME's `mom2_dtype`). So that a run does not depend on whether
 * the cache was warm, a freshly computed C is returned rounded to float32 as well: both paths give
 * the same bits. Writes are atomic (temp file + rename), tensor first, sidecar last; a sidecar that
 * does not match its tensor (a crash between the two) reads as a miss.
 *
 * Beside an entry (always in the writable cache): C's float64 Cholesky factor (factorFile.ts), for C of
 * d_mlp ≥ 1024, written by the first edit that factors it and read by later processes instead of factoring.
 *
 * Before the cache: ROME/MEMIT's published statistics (`statsDir`, publishedStats.ts), used as they
 * are for every layer they have a file for. After it, read only: the same layout inside the model's
 * folder (`stats/`, shipped with the embedded model) and the old per-workspace cache (cacheLocation.ts).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsErrorMessage } from '../../files/read';
import type { LoadedModel } from '../../model/model';
import type { ParamName } from '../../model/names';
import { openSafetensorsFile, writeSafetensors } from '../../model/safetensors';
import type { StatsCorpus } from './corpus';
import { corpusSha256, ROME_SAMPLE_SEED } from './corpus';
import type { SecondMoment, SecondMomentOptions, StatsSettings } from './secondMoment';
import { computeSecondMoment, resolveStatsSettings, validateLayers } from './secondMoment';
import { isInside } from '../../files/writeTarget';
import { readOnlyStatsDirs } from './cacheLocation';
import type { PublishedMoment } from './publishedStats';
import { findPublishedStats, readPublishedStats } from './publishedStats';
import { attachFactorFile } from './factorFile';

const FORMAT = 'locus-mom2/1';
const TENSOR = 'mom2';

export interface StatsCacheOptions extends SecondMomentOptions {
  /** Where statistics are looked up first and computed ones written. */
  readonly cacheDir: string;
  /** A folder of ROME/MEMIT `.npz` statistics (`--stats-dir`): a layer's file there is used before any cache. */
  readonly statsDir?: string;
  /** Folders searched read-only after cacheDir (same layout); default `readOnlyStatsDirs(model, cacheDir)`. */
  readonly readOnlyDirs?: readonly string[];
  /**
   * Cache hits, misses and ignored files, one line each. Lines that belong in an edit's notes start with
   * `note: ` (published or shipped statistics used) or `warning: ` (a file ignored, a write failed).
   */
  readonly log?: (message: string) => void;
}

/** The sidecar. A hit needs every input field equal, a positive count and the tensor's sha256. */
interface Sidecar {
  format: string;
  model: { name: string; fingerprint: string };
  layer: number;
  /** sha256[:16] of the overrides that change this layer's keys; '' for the model as loaded. */
  edits: string;
  site: string;
  corpus: { name: string; sha256: string; texts: number };
  maxLength: number;
  documents: number;
  sampleSeed: number;
  dtype: 'float32';
  dim: number;
  count: number;
  tensorSha256: string;
  createdAt?: string;
}

const slug = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64) || 'corpus';

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Whether parameter `name` feeds `blocks.{layer}.mlp.post` (conservative for GPT-J's parallel block). */
function feedsKeys(name: ParamName, layer: number): boolean {
  const m = /^blocks\.(\d+)\./.exec(name);
  if (!m) return name === 'embed.W_E' || name === 'pos_embed.W_pos';
  const j = Number(m[1]);
  return j < layer || (j === layer && !/\.mlp\.(W_out|b_out)$/.test(name));
}

/** sha256[:16] over the overridden parameters that change layer `layer`'s keys; '' when none do. */
export function editsKey(model: LoadedModel, layer: number): string {
  const names = model.overrides.names().filter((n) => feedsKeys(n, layer)).sort();
  if (names.length === 0) return '';
  const h = crypto.createHash('sha256');
  for (const n of names) {
    const t = model.param(n);
    h.update(`${n}:${t.shape.join('x')}:`).update(bytesOf(t.data));
  }
  return h.digest('hex').slice(0, 16);
}

type Expected = Omit<Sidecar, 'count' | 'tensorSha256' | 'createdAt'>;

/** One layer's cache file (without extension) and the sidecar fields a hit must carry. */
function cacheEntry(cacheDir: string, model: LoadedModel, layer: number, corpus: StatsCorpus, corpusSha: string, s: StatsSettings): { base: string; expected: Expected } {
  const { name, fingerprint } = model.manifest;
  const edits = editsKey(model, layer);
  const dir = path.join(cacheDir, `${slug(name)}-${fingerprint}`, `${slug(corpus.name)}-${corpusSha.slice(0, 16)}_stats`);
  const base = path.join(dir, `blocks.${layer}.mlp.post${edits ? `+edits-${edits}` : ''}_float32_mom2_t${s.maxLength}_${s.documents.length}`);
  const expected: Expected = {
    format: FORMAT,
    model: { name, fingerprint },
    layer,
    edits,
    site: `blocks.${layer}.mlp.post`,
    corpus: { name: corpus.name, sha256: corpusSha, texts: corpus.texts.length },
    maxLength: s.maxLength,
    documents: s.documents.length,
    sampleSeed: ROME_SAMPLE_SEED,
    dtype: 'float32',
    dim: model.config.d_mlp,
  };
  return { base, expected };
}

/** Reads one cached layer; throws (with the reason) on anything missing, corrupt or mismatching. */
function readCached(base: string, expected: Expected): SecondMoment {
  const side = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as Sidecar;
  for (const [k, v] of Object.entries(expected)) {
    const got = (side as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(got) !== JSON.stringify(v)) throw new Error(`${k} is ${JSON.stringify(got)}, expected ${JSON.stringify(v)}`);
  }
  if (!Number.isInteger(side.count) || side.count <= 0) throw new Error(`count ${side.count} is not a positive integer`);
  const store = openSafetensorsFile(`${base}.safetensors`);
  try {
    const d = expected.dim;
    if (store.dtype(TENSOR) !== 'F32' || JSON.stringify(store.shape(TENSOR)) !== JSON.stringify([d, d])) {
      throw new Error(`tensor ${TENSOR} is ${store.dtype(TENSOR)} ${JSON.stringify(store.shape(TENSOR))}, expected F32 [${d}, ${d}]`);
    }
    const data = store.read(TENSOR).data;
    const sha = crypto.createHash('sha256').update(bytesOf(data)).digest('hex');
    if (sha !== side.tensorSha256) throw new Error('the tensor does not match the sidecar (sha256 differs)');
    return tensorSha(side.tensorSha256, { count: side.count, dim: d, mom2: Float64Array.from(data) });
  } finally {
    store.close();
  }
}

/** The sha256 of the float32 tensor each C array was read from or written as: names C in its factor's file (factorFile.ts). */
const tensorShas = new WeakMap<Float64Array, string>();
function tensorSha<T extends SecondMoment>(sha: string, m: T): T {
  tensorShas.set(m.mom2, sha);
  return m;
}

/** A cache entry's factor file: always under the writable cache, wherever C itself was read (shipped statistics are read-only). */
const factorFileOf = (cacheBase: string): string => `${cacheBase}.cholesky.safetensors`;

function writeCached(base: string, expected: Expected, stat: SecondMoment, f32: Float32Array): void {
  fs.mkdirSync(path.dirname(base), { recursive: true });
  const d = stat.dim;
  writeSafetensors(`${base}.safetensors`, [{ name: TENSOR, tensor: { shape: [d, d], data: f32 } }], { format: FORMAT, count: String(stat.count) });
  const side: Sidecar = { ...expected, count: stat.count, tensorSha256: crypto.createHash('sha256').update(bytesOf(f32)).digest('hex'), createdAt: new Date().toISOString() };
  const tmp = `${base}.json.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(side, null, 1) + '\n');
    fs.renameSync(tmp, `${base}.json`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The last statistics read or computed, by file: repeated edits at a layer (a sweep, a study,
 * MEMIT's five layers) reuse one C array instead of re-reading it, and with it the Cholesky factor
 * cached on that array (linalg.ts), as long as the file on disk is unchanged. Bounded by bytes, C and
 * its float64 factor counted, keeping at least the newest: every layer of the embedded model (9 MB
 * each), two of GPT-2 XL (656 MB each).
 */
const recent = new Map<string, { m: SecondMoment; stamp: string }>();
const RECENT_BYTES = 1.5 * 2 ** 30;
/** A file's size and mtime: an in-memory copy is used only while its file is unchanged. */
const fileStamp = (file: string): string => {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeMs}` : '';
};
function remember<T extends SecondMoment>(file: string, m: T): T {
  recent.delete(file);
  recent.set(file, { m, stamp: fileStamp(file) });
  const bytes = (s: SecondMoment): number => s.mom2.byteLength + 8 * s.dim * s.dim;
  let total = [...recent.values()].reduce((t, e) => t + bytes(e.m), 0);
  while (recent.size > 1 && total > RECENT_BYTES) {
    const [oldest, e] = recent.entries().next().value!;
    recent.delete(oldest);
    total -= bytes(e.m);
  }
  return m;
}
/** The in-memory copy of `file`'s statistics, when the file is unchanged since it was read or written. */
function recalled<T extends SecondMoment>(file: string): T | undefined {
  const hit = recent.get(file);
  if (!hit || hit.stamp === '' || hit.stamp !== fileStamp(file)) return undefined;
  return remember(file, hit.m as T);
}

/** Published statistics for the layers `statsDir` has files for, with a note per layer either way. */
function publishedLayers(model: LoadedModel, layers: readonly number[], opts: StatsCacheOptions): Map<number, SecondMoment> {
  const found = new Map<number, SecondMoment>();
  if (opts.statsDir === undefined) return found;
  for (const l of layers) {
    const file = findPublishedStats(opts.statsDir, model.config, l, opts.sampleSize);
    if (file === undefined) {
      opts.log?.(`note: layer ${l}: no ROME/MEMIT statistics file for it in ${opts.statsDir}; statistics from the cache or computed`);
      continue;
    }
    const m = recalled<PublishedMoment>(file) ?? remember(file, readPublishedStats(file, model.config.d_mlp));
    const n = m.sampleSize === undefined ? '' : `, sample_size ${m.sampleSize}`;
    opts.log?.(`note: layer ${l}: key statistics read from ${m.file} (ROME/MEMIT format, C = mom2 / count over ${m.count} tokens${n}), not computed`);
    found.set(l, m);
  }
  return found;
}

/**
 * `computeSecondMoment` through the cache: layers with published statistics (`statsDir`) or found on
 * disk are read (no forward pass), the others computed together in one pass and written. Returns C as
 * float32 values for every layer (see above). `corpus` may be a function, called only when some layer
 * needs the cache key or a computation (published statistics need neither).
 */
export async function loadOrComputeSecondMoment(
  model: LoadedModel,
  layers: readonly number[],
  corpusOrGet: StatsCorpus | (() => StatsCorpus),
  opts: StatsCacheOptions,
): Promise<Map<number, SecondMoment>> {
  validateLayers(model, layers);
  const found = publishedLayers(model, layers, opts);
  const rest = layers.filter((l) => !found.has(l));
  if (rest.length === 0) return new Map(layers.map((l) => [l, found.get(l)!]));
  const corpus = typeof corpusOrGet === 'function' ? corpusOrGet() : corpusOrGet;
  const settings = resolveStatsSettings(model, corpus, opts);
  const sha = corpusSha256(corpus);
  const entries = new Map(rest.map((l) => [l, cacheEntry(opts.cacheDir, model, l, corpus, sha, settings)]));
  // The cache first, then the read-only folders; the first folder holding a layer's entry is the only one read.
  const lookIn = [opts.cacheDir, ...(opts.readOnlyDirs ?? readOnlyStatsDirs(model, opts.cacheDir))];
  const modelDir = path.resolve(model.manifest.path);
  const missing: number[] = [];
  for (const l of rest) {
    let m: SecondMoment | undefined;
    for (const dir of lookIn) {
      const { base, expected } = dir === opts.cacheDir ? entries.get(l)! : cacheEntry(dir, model, l, corpus, sha, settings);
      m = recalled(`${base}.safetensors`) ?? readFirst(l, base, expected, opts);
      if (!m) continue;
      if (dir !== opts.cacheDir && isInside(path.resolve(dir), modelDir)) opts.log?.(`note: layer ${l}: key statistics shipped with the model (${base}.safetensors), not computed`);
      break;
    }
    if (m) found.set(l, m);
    else missing.push(l);
    const tensorSha256 = m && tensorShas.get(m.mom2);
    if (m && tensorSha256) attachFactorFile(m.mom2, m.dim, factorFileOf(entries.get(l)!.base), tensorSha256);
  }
  if (missing.length > 0) {
    opts.log?.(`computing statistics for layer${missing.length > 1 ? 's' : ''} ${missing.join(', ')} over ${settings.documents.length} documents of ${corpus.name}`);
    const fresh = await computeSecondMoment(model, missing, corpus, opts);
    for (const [l, stat] of fresh) {
      const { base, expected } = entries.get(l)!;
      const f32 = Float32Array.from(stat.mom2);
      // The statistics are correct in memory whether or not they reach the disk: a cache that cannot be
      // written (disk full, permissions changed mid-run) costs the next run a recomputation, not this
      // run its result. Callers check the folder up front (runEdit), so this is the rare late failure.
      try {
        writeCached(base, expected, stat, f32);
      } catch (e) {
        opts.log?.(`warning: could not write the statistics cache ${base}.safetensors (${fsErrorMessage(e, opts.cacheDir, 'cache folder')}); they were computed in memory and will be recomputed next time`);
      }
      const m = remember(`${base}.safetensors`, { count: stat.count, dim: stat.dim, mom2: Float64Array.from(f32) });
      attachFactorFile(m.mom2, m.dim, factorFileOf(base), crypto.createHash('sha256').update(bytesOf(f32)).digest('hex'));
      found.set(l, m);
    }
  }
  return new Map(layers.map((l) => [l, found.get(l)!]));
}

/** One cache entry from disk, or undefined when absent or unusable (then a warning through `log`). */
function readFirst(layer: number, base: string, expected: Expected, opts: StatsCacheOptions): SecondMoment | undefined {
  if (!fs.existsSync(`${base}.json`) && !fs.existsSync(`${base}.safetensors`)) return undefined;
  try {
    const m = remember(`${base}.safetensors`, readCached(base, expected));
    opts.log?.(`layer ${layer}: loaded cached statistics ${base}.safetensors`);
    return m;
  } catch (e) {
    opts.log?.(`warning: ignoring the cached statistics ${base}.safetensors (${(e as Error).message}); recomputing`);
    return undefined;
  }
}
