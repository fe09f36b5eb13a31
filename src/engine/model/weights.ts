import * as path from 'node:path';
import type { ModelConfig } from './config';
import { adapterFor } from './arch/index';
import type { LoadedParams } from './arch/types';
import { resolve } from './arch/types';
import { LocusError } from '../errors';
import { countNonFinite } from '../files/finite';
import { formatShape, numel } from '../tensor/tensor';
import type { Tensor } from '../tensor/tensor';
import { openSafetensors } from './safetensors';
import type { WeightStore } from './safetensors';
import { HalfParams, holdsHalf } from './halfStore';
import { MappedWeights } from './mappedWeights';

export interface LoadedWeights {
  /** Canonical parameters, read lazily from `store`. */
  readonly params: LoadedParams;
  /** Scalars over all canonical parameters (a tied embedding counted once, as HF counts). */
  readonly parameterCount: number;
  /**
   * Unused tensors in the file and, with `allowNonFinite`, tensors holding NaN/Inf: show them to the
   * user. A model too large to check at load appends a line here when a tensor is first read.
   */
  readonly warnings: string[];
  /** Keep open while parameters may still be read; `store.close()` when done. */
  readonly store: WeightStore;
  /** Whether the model loads lean (WeightOptions.lean). */
  readonly lean: boolean;
  /** Lean and stored in F16/BF16: the parameters kept 16-bit (halfStore.ts), which sessions are fed widened. */
  readonly half?: HalfParams;
  /** Lean and float32: the parameters ORT maps from the file in place instead of being fed (mappedWeights.ts). */
  readonly mapped?: MappedWeights;
}

export interface WeightOptions {
  /** NaN/Inf in a weight is a warning instead of a LocusError('non-finite'). */
  readonly allowNonFinite?: boolean;
  /**
   * Models up to this many stored bytes are read and checked for NaN/Inf at load (every tensor is
   * read by the first forward pass anyway, so this only moves the read earlier); larger ones are
   * checked as each tensor is first read, so opening a huge model stays cheap.
   */
  readonly checkAtLoadBytes?: number;
  /**
   * Lean weights (issue 17): sessions take the weights as inputs fed from one copy in memory instead of
   * baking a second copy into each graph, and F16/BF16 tensors stay 16-bit in memory (halfStore.ts).
   * 'auto' (default): for models above LEAN_WEIGHT_BYTES. 'auto-mapped': the same, and float32 models
   * above MAPPED_PREPACK_BYTES mapped with prepacking (for work that runs the model's own graphs only).
   */
  readonly lean?: boolean | 'auto' | 'auto-mapped';
  /** Lean float32 tensors stored as used are mapped by ORT from the file (mappedWeights.ts); false feeds them (default true). */
  readonly map?: boolean;
  /** ORT prepacks the mapped matrices (runtime/ort.ts; default only for 'auto-mapped' mid-size models). */
  readonly prepack?: boolean;
}

/** Models above this many stored bytes load lean by default (GPT-2 XL and GPT-J; GPT-2 small/medium stay baked). */
export const LEAN_WEIGHT_BYTES = 1 << 30;

/**
 * With lean 'auto-mapped' (`locus trace`), float32 models above this many stored bytes (and up to
 * LEAN_WEIGHT_BYTES: GPT-2 small and medium) are mapped too, with ORT prepacking the mapped matrices:
 * nothing is read into the process, copied into the graphs' bytes and copied again by ORT (each a fresh
 * allocation this VM faults in at ~2 s/GB); ORT maps the file and packs each matrix once. Measured,
 * `locus trace` on a GPT-2-small folder, main-thread time before the grid: 2.8 s read + encode + create
 * → 2.1 s; peak RSS 1.7 → 1.1 GB; the grid bit-identical. Not the default: a method's own graphs (ROME's
 * objective) read and feed the weights of a lean model, and a `locus edit` process on GPT-2 small took
 * 12.2–13.0 s wall baked-or-lean-unpacked vs 13.5–15.7 s mapped and prepacked.
 */
export const MAPPED_PREPACK_BYTES = 256 << 20;

/** 1 GiB: GPT-2 small/medium are checked at load; GPT-2 XL, GPT-J on first read. */
export const CHECK_AT_LOAD_BYTES = 1 << 30;
/** How many items an error or warning lists before "and N more". */
const LISTED = 5;

const fmt = (n: number): string => n.toLocaleString('en-US');

/** "a; b; c; d; e; and 7 more": the first few items and a count, so a message stays one short line. */
export function boundedList(items: readonly string[], noun: string, max = LISTED): string {
  const shown = items.slice(0, max).join('; ');
  return items.length > max ? `${shown}; … and ${fmt(items.length - max)} more ${noun}` : shown;
}

/**
 * How many layers the store's names reach: one more than the highest index in `h.3.…`, `layers.3.…`
 * or `blocks.3.…` (names only, no data). A gap (a layer's tensors missing) is left to the adapter's
 * validation, which names the missing tensors.
 */
function layersHeld(store: WeightStore): number {
  let held = 0;
  for (const n of store.names()) {
    const m = /(?:^|\.)(?:h|layers|blocks)\.(\d+)\./.exec(n);
    if (m) held = Math.max(held, Number(m[1]) + 1);
  }
  return held;
}

/**
 * Compares config.json's sizes with the weights' real shapes (headers only) BEFORE the adapter builds
 * its per-layer tables: `"n_layer": 1000000000` must be refused in microseconds, not by listing a
 * billion missing tensors until memory runs out. Names the config key, the two values and the tensor.
 */
export function checkConfigAgainstWeights(cfg: ModelConfig, store: WeightStore, configFile = 'config.json'): void {
  const source = store.source;
  const mismatch = (key: string, value: number, actual: string): LocusError =>
    new LocusError('shape-mismatch', `${configFile}: "${key}" is ${fmt(value)} but ${actual}: is config.json from the same model as ${source}?`);
  const layers = layersHeld(store);
  if (cfg.n_layers > layers) {
    const held = layers === 0 ? 'holds no layer tensors' : `holds ${fmt(layers)} layer${layers === 1 ? '' : 's'} (0 to ${fmt(layers - 1)})`;
    throw mismatch(adapterFor(cfg.modelType).configKeys.n_layers, cfg.n_layers, `${source} ${held}`);
  }
  const adapter = adapterFor(cfg.modelType);
  const keys = adapter.configKeys;
  const wte = resolve(store, adapter.embedName);
  if (wte !== undefined) {
    const s = store.shape(wte);
    if (s.length === 2 && s[1] !== cfg.d_model) throw mismatch(keys.d_model, cfg.d_model, `${wte} is ${formatShape(s)} (width ${fmt(s[1])})`);
    if (s.length === 2 && s[0] !== cfg.d_vocab) throw mismatch('vocab_size', cfg.d_vocab, `${wte} is ${formatShape(s)} (${fmt(s[0])} tokens)`);
  }
  const wpe = adapter.posEmbedName === undefined ? undefined : resolve(store, adapter.posEmbedName);
  if (wpe !== undefined) {
    const s = store.shape(wpe);
    if (s.length === 2 && s[0] !== cfg.n_ctx) throw mismatch(keys.n_ctx, cfg.n_ctx, `${wpe} is ${formatShape(s)} (${fmt(s[0])} positions)`);
  }
}

/**
 * Whether `d` holds a NaN or ±Inf: x·0 is 0 for every finite x and NaN otherwise, and NaN survives
 * the sums. Branch-free with four accumulators, about twice as fast as counting, so the check costs
 * little on every weight; `countNonFinite` runs only on the rare tensor that fails.
 */
function hasNonFinite(d: Float32Array): boolean {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const n = d.length - (d.length % 4);
  for (let i = 0; i < n; i += 4) {
    a0 += d[i] * 0;
    a1 += d[i + 1] * 0;
    a2 += d[i + 2] * 0;
    a3 += d[i + 3] * 0;
  }
  for (let i = n; i < d.length; i++) a0 += d[i] * 0;
  return a0 + a1 + a2 + a3 !== 0;
}

/**
 * The NaN/Inf guard on every tensor read from the file: counts them per tensor and either throws one
 * LocusError('non-finite') or, with `allowNonFinite`, reports them to `warn`.
 */
class FiniteCheckingStore implements WeightStore {
  /** Tensors found non-finite, "name has N NaN/Inf of M". */
  readonly found: string[] = [];
  /** While checking at load: collect every bad tensor first, so the message lists them all. */
  collect = false;
  /** Tensors already checked: a tensor read again (a lean model re-reads dropped weights) is not re-scanned. */
  private readonly checked = new Set<string>();

  constructor(
    private readonly inner: WeightStore,
    private readonly file: string,
    private readonly allow: boolean,
    private readonly warn: (line: string) => void,
  ) {}

  get source(): string {
    return this.inner.source;
  }
  get totalBytes(): number {
    return this.inner.totalBytes;
  }
  get metadata(): Readonly<Record<string, string>> {
    return this.inner.metadata;
  }
  names = (): string[] => this.inner.names();
  has = (name: string): boolean => this.inner.has(name);
  shape = (name: string): readonly number[] => this.inner.shape(name);
  dtype = (name: string): string => this.inner.dtype(name);
  close = (): void => this.inner.close();

  read(name: string): Tensor {
    const t = this.inner.read(name);
    if (this.checked.has(name)) return t;
    if (hasNonFinite(t.data)) this.nonFinite(name, countNonFinite(t.data).count, t.data.length);
    // Only once it passed (or was let through): a refused tensor is refused again on the next read.
    this.checked.add(name);
    return t;
  }

  /**
   * Checks a float32 tensor for NaN/Inf without keeping it (read chunk by chunk through one buffer):
   * a mapped tensor is never read by `read`, but is refused the same way before its first use.
   */
  checkInPlace(name: string): void {
    if (this.checked.has(name)) return;
    if (this.inner.scan === undefined) throw new Error(`checkInPlace(${name}): the store cannot scan tensors`);
    let bad = false;
    this.inner.scan(name, (chunk) => void (bad ||= hasNonFinite(chunk)));
    if (bad) {
      let count = 0;
      this.inner.scan(name, (chunk) => void (count += countNonFinite(chunk).count));
      this.nonFinite(name, count, numel(this.inner.shape(name)));
    }
    this.checked.add(name);
  }

  /** Records (and, unless collecting, throws or warns about) `count` NaN/Inf found in tensor `name` of `total` values. */
  nonFinite(name: string, count: number, total: number): void {
    const line = `${name} has ${fmt(count)} NaN/Inf of ${fmt(total)}`;
    this.found.push(line);
    if (!this.collect) this.report([line]);
  }

  /** Throws, or warns with `allowNonFinite`, for the given tensors (nothing when empty). */
  report(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const listed = boundedList(lines, 'tensors');
    if (this.allow) this.warn(`${this.file}: ${listed}; loaded anyway (--allow-nonfinite): results may be NaN`);
    else throw new LocusError('non-finite', `${this.file}: ${listed}; pass --allow-nonfinite to load anyway`);
  }
}

/**
 * The header-only part of `loadWeights`: names, shapes and dtypes against `cfg`, no tensor data read.
 * Lets a caller refuse a wrong folder before freeing the model it holds.
 */
export function checkWeightHeaders(folder: string, cfg: ModelConfig): void {
  const store = openSafetensors(folder);
  try {
    checkConfigAgainstWeights(cfg, store, path.join(folder, 'config.json'));
    adapterFor(cfg.modelType).validate(cfg, store);
  } finally {
    store.close();
  }
}

/**
 * Opens `folder`'s weights and checks them against `cfg` (config sizes against the real shapes first,
 * then every tensor present, every shape as the config says) and for NaN/Inf: at load for a model up
 * to `checkAtLoadBytes`, else as each tensor is first read (that first use fails with the same error).
 */
export function loadWeights(folder: string, cfg: ModelConfig, options: WeightOptions = {}): LoadedWeights {
  const raw = openSafetensors(folder);
  const warnings: string[] = [];
  const auto = options.lean === undefined || options.lean === 'auto' || options.lean === 'auto-mapped';
  const midSize = options.lean === 'auto-mapped' && raw.totalBytes > MAPPED_PREPACK_BYTES && raw.totalBytes <= LEAN_WEIGHT_BYTES && !holdsHalf(raw) && options.allowNonFinite !== true && (options.map ?? true);
  const lean = options.lean === true || (auto && (raw.totalBytes > LEAN_WEIGHT_BYTES || midSize));
  const prepack = options.prepack ?? midSize;
  const store = new FiniteCheckingStore(raw, path.join(folder, raw.source), options.allowNonFinite === true, (w) => warnings.push(w));
  try {
    checkConfigAgainstWeights(cfg, raw, path.join(folder, 'config.json'));
    const params = adapterFor(cfg.modelType).load(cfg, store);
    const parameterCount = params.names().reduce((n, name) => n + numel(params.shape(name)), 0);
    // Unused tensors: a checkpoint with thousands of extras still prints a few lines.
    const unused = params.warnings;
    warnings.push(...(unused.length > LISTED + 1 ? [...unused.slice(0, LISTED), `… and ${fmt(unused.length - LISTED)} more unused tensors`] : unused));
    // Not for mapped weights: ORT maps them from the file and the engine reads few of them, so reading
    // all at load would only copy the model into fresh memory (GPT-2 small: 1.4 s of CPU in `locus edit`);
    // they are checked as each is first used (checkInPlace), with the same error. With allowNonFinite
    // they are checked at load all the same: its warning belongs to the load's warnings (a tensor found
    // at first use would only warn into a list the caller has already printed).
    const mapping = lean && (options.map ?? true) && !holdsHalf(raw) && options.allowNonFinite !== true;
    if (!mapping && raw.totalBytes <= (options.checkAtLoadBytes ?? CHECK_AT_LOAD_BYTES)) {
      // Materializes every parameter now (cached in `params`, so nothing is read twice).
      store.collect = true;
      for (const name of params.names()) params.get(name);
      store.collect = false;
      store.report(store.found);
    }
    const half = lean && holdsHalf(raw) ? new HalfParams(adapterFor(cfg.modelType), cfg, raw, (n, count, total) => store.nonFinite(n, count, total)) : undefined;
    const mapped = lean && (options.map ?? true) ? MappedWeights.of(adapterFor(cfg.modelType), cfg, raw, (n) => store.checkInPlace(n), prepack) : undefined;
    return { params, parameterCount, warnings, store, lean, half, mapped };
  } catch (e) {
    store.close();
    throw e;
  }
}
