/**
 * Architecture adapters: one declarative table per HF `model_type` saying which HF tensor each
 * canonical parameter comes from and how (copy, transpose, column split). `defineAdapter` turns a
 * table into validation and lazy loading, so gpt2.ts / gptj.ts hold no loading code.
 *
 * Canonical layouts (every adapter must produce these):
 *   embed.W_E [d_vocab, d_model]        pos_embed.W_pos [n_ctx, d_model] (absolute positions only)
 *   blocks.{l}.ln1.w|b, ln2.w|b [d_model]
 *   blocks.{l}.attn.W_Q [d_model, n_heads·d_head], W_K|W_V [d_model, n_kv_heads·d_head], W_O [n_heads·d_head, d_model]
 *     (= [in, out]), biases b_Q|b_K|b_V|b_O of the out sizes; q_norm.w|k_norm.w [d_head] (Qwen3)
 *   blocks.{l}.mlp.W_in [d_model, d_mlp], b_in [d_mlp], W_out [d_mlp, d_model], b_out [d_model];
 *     gated MLPs: W_in is the up projection and W_gate|b_gate [d_model, d_mlp] the gate
 *   RMSNorm families have ln*.w only (no .b).
 *   ln_final.w|b [d_model]              unembed.W_U [d_model, d_vocab], unembed.b_U [d_vocab]
 * Every linear weight is [in, out], so a layer is `x @ W + b`.
 */
import { LocusError } from '../../errors';
import { formatShape, sameShape, transpose2d } from '../../tensor/tensor';
import type { Tensor } from '../../tensor/tensor';
import type { ModelConfig, ModelType } from '../config';
import type { ParamName } from '../names';
import type { WeightStore } from '../safetensors';
import { FLOAT_DTYPES } from '../safetensors';

/** How a parameter is derived from its HF tensor. */
export type Transform =
  | { readonly kind: 'copy' }
  /** nn.Linear [out, in] → [in, out]. */
  | { readonly kind: 'transpose' }
  /** [rows, cols] → [rows, count]: columns start .. start+count (GPT-2's fused c_attn). */
  | { readonly kind: 'columns'; readonly start: number; readonly count: number }
  /** [n] → [count]: elements start .. start+count. */
  | { readonly kind: 'range'; readonly start: number; readonly count: number }
  /**
   * GPT-NeoX's fused query_key_value: rows (or elements, for the bias) viewed as [heads, parts, size, …];
   * keeps part `part` of every head, in head order, then transposes a 2-D result to [in, out].
   */
  | { readonly kind: 'perHead'; readonly heads: number; readonly parts: number; readonly part: number; readonly size: number };

export interface ParamSpec {
  readonly name: ParamName;
  /** HF name as HF saves it from the LM-head model (`transformer.h.0…`); the unprefixed form is accepted too. */
  readonly hf: string;
  readonly hfShape: readonly number[];
  /** Canonical shape, after the transform. */
  readonly shape: readonly number[];
  readonly transform: Transform;
}

/** What an adapter file declares. */
export interface AdapterTable {
  readonly modelType: ModelType;
  /** HF name of the token embedding [d_vocab, d_model], checked against config.json before anything else. */
  readonly embedName: string;
  /** HF name of the learned position table [n_ctx, d_model], when the family has one. */
  readonly posEmbedName?: string;
  /** config.json keys of these sizes, for messages. */
  readonly configKeys: { readonly d_model: string; readonly n_layers: string; readonly n_ctx: string };
  /** True: there is no unembed.W_U and the graph computes logits with embed.W_E transposed. */
  tiedUnembed(cfg: ModelConfig): boolean;
  params(cfg: ModelConfig): ParamSpec[];
  /** HF tensors accepted when present but not loaded (a tied lm_head equal to wte); shape still checked. */
  redundant(cfg: ModelConfig): Array<{ readonly hf: string; readonly shape: readonly number[] }>;
  /** Non-parameter buffers HF may save (causal masks), skipped silently. */
  readonly buffers: RegExp;
}

/** Canonical parameters, materialized on first `get` (read, convert, transpose/split) and cached. */
export interface LoadedParams {
  readonly modelType: ModelType;
  readonly tiedUnembed: boolean;
  /** Extra tensors in the file that no parameter uses, one line each. */
  readonly warnings: readonly string[];
  names(): ParamName[];
  has(name: string): boolean;
  shape(name: ParamName): readonly number[];
  /** The cached tensor is shared: clone before mutating. Fails once the store is closed, unless cached. */
  get(name: ParamName): Tensor;
  /** Forgets a cached tensor (a later `get` re-reads it), so a builder can stream a big model. */
  drop(name: ParamName): void;
}

export interface ArchAdapter extends AdapterTable {
  paramNames(cfg: ModelConfig): ParamName[];
  expectedShape(cfg: ModelConfig, name: ParamName): readonly number[];
  /**
   * Checks, reading no tensor data, that every needed HF tensor exists with the config's shape and a
   * float dtype. Returns HF name → name in the store, and warnings for unused tensors.
   */
  validate(cfg: ModelConfig, store: WeightStore): { resolved: Map<string, string>; warnings: string[] };
  /** `validate`, then lazy parameters over `store` (which must stay open until they are all read). */
  load(cfg: ModelConfig, store: WeightStore): LoadedParams;
}

export const copy = (name: ParamName, hf: string, shape: readonly number[]): ParamSpec => ({
  name, hf, hfShape: shape, shape, transform: { kind: 'copy' },
});
/** `hfShape` is HF's [out, in]; the canonical shape is [in, out]. */
export const transposed = (name: ParamName, hf: string, hfShape: readonly [number, number]): ParamSpec => ({
  name, hf, hfShape, shape: [hfShape[1], hfShape[0]], transform: { kind: 'transpose' },
});

/** The base-model prefixes of the LM-head models (GPT-2/J, Llama family, NeoX), which a base-model checkpoint lacks. */
export const BASE_PREFIX = /^(transformer|model|gpt_neox)\./;

/** A name in the store for `hf`: as given, or without the base-model prefix some checkpoints drop. */
export function resolve(store: WeightStore, hf: string): string | undefined {
  if (store.has(hf)) return hf;
  const bare = hf.replace(BASE_PREFIX, '');
  return bare !== hf && store.has(bare) ? bare : undefined;
}

const MAX_LISTED = 5;

function validate(table: AdapterTable, cfg: ModelConfig, store: WeightStore): { resolved: Map<string, string>; warnings: string[] } {
  const needs = new Map<string, ParamSpec[]>();
  for (const p of table.params(cfg)) needs.set(p.hf, [...(needs.get(p.hf) ?? []), p]);
  const resolved = new Map<string, string>();
  const missing: string[] = [];
  for (const [hf, specs] of needs) {
    const found = resolve(store, hf);
    if (found === undefined) missing.push(`${hf} (needed for ${specs.map((s) => s.name).join(', ')})`);
    else resolved.set(hf, found);
  }
  if (missing.length > 0) {
    const more = missing.length > MAX_LISTED ? `; and ${missing.length - MAX_LISTED} more (${missing.length} missing): is config.json from the same model?` : '';
    throw new LocusError('missing-tensor', `${store.source} lacks ${missing.slice(0, MAX_LISTED).join('; ')}${more}`);
  }
  const checkShape = (stored: string, expected: readonly number[]): void => {
    const actual = store.shape(stored);
    if (!sameShape(actual, expected)) {
      throw new LocusError('shape-mismatch', `${stored} has shape ${formatShape(actual)}, expected ${formatShape(expected)} from config.json`);
    }
  };
  for (const [hf, specs] of needs) {
    const stored = resolved.get(hf) as string;
    checkShape(stored, specs[0].hfShape);
    const dtype = store.dtype(stored);
    if (!FLOAT_DTYPES.includes(dtype)) {
      throw new LocusError('bad-weights', `${store.source}: ${stored} has dtype ${dtype}; weights must be ${FLOAT_DTYPES.join(', ')}`);
    }
  }
  const used = new Set(resolved.values());
  for (const r of table.redundant(cfg)) {
    const found = resolve(store, r.hf);
    if (found !== undefined) {
      checkShape(found, r.shape);
      used.add(found);
    }
  }
  const extra = store.names().filter((n) => !used.has(n) && !table.buffers.test(n));
  const warnings = extra.map((n) => `${store.source}: ignoring unexpected tensor ${n} ${formatShape(store.shape(n))}`);
  return { resolved, warnings };
}

function applyTransform(t: Tensor, tr: Transform): Tensor {
  switch (tr.kind) {
    case 'copy':
      return t;
    case 'transpose':
      return transpose2d(t);
    case 'range':
      return { shape: [tr.count], data: t.data.slice(tr.start, tr.start + tr.count) };
    case 'perHead': {
      const rowLen = t.shape.length === 2 ? t.shape[1] : 1;
      const out = new Float32Array(tr.heads * tr.size * rowLen);
      for (let h = 0; h < tr.heads; h++) {
        const src = ((h * tr.parts + tr.part) * tr.size) * rowLen;
        out.set(t.data.subarray(src, src + tr.size * rowLen), h * tr.size * rowLen);
      }
      return t.shape.length === 2 ? transpose2d({ shape: [tr.heads * tr.size, rowLen], data: out }) : { shape: [tr.heads * tr.size], data: out };
    }
    case 'columns': {
      const [rows, cols] = t.shape as [number, number];
      const out = new Float32Array(rows * tr.count);
      for (let r = 0; r < rows; r++) out.set(t.data.subarray(r * cols + tr.start, r * cols + tr.start + tr.count), r * tr.count);
      return { shape: [rows, tr.count], data: out };
    }
  }
}

class LazyParams implements LoadedParams {
  private readonly cache = new Map<ParamName, Tensor>();
  private readonly specs: Map<ParamName, ParamSpec>;
  /** HF name → every parameter cut from it, so a fused tensor is read once for all of them. */
  private readonly bySource = new Map<string, ParamSpec[]>();

  constructor(
    readonly modelType: ModelType,
    readonly tiedUnembed: boolean,
    readonly warnings: readonly string[],
    specs: ParamSpec[],
    private readonly resolved: Map<string, string>,
    private readonly store: WeightStore,
  ) {
    this.specs = new Map(specs.map((s) => [s.name, s]));
    for (const s of specs) this.bySource.set(s.hf, [...(this.bySource.get(s.hf) ?? []), s]);
  }

  names = (): ParamName[] => [...this.specs.keys()];
  has = (name: string): boolean => this.specs.has(name as ParamName);
  shape = (name: ParamName): readonly number[] => this.spec(name).shape;
  drop = (name: ParamName): void => void this.cache.delete(name);

  get(name: ParamName): Tensor {
    const cached = this.cache.get(name);
    if (cached) return cached;
    const hf = this.spec(name).hf;
    const raw = this.store.read(this.resolved.get(hf) as string);
    for (const s of this.bySource.get(hf) ?? []) {
      if (!this.cache.has(s.name)) this.cache.set(s.name, applyTransform(raw, s.transform));
    }
    return this.cache.get(name) as Tensor;
  }

  private spec(name: ParamName): ParamSpec {
    const s = this.specs.get(name);
    if (!s) throw new LocusError('bad-input', `a ${this.modelType} model has no parameter ${name}`);
    return s;
  }
}

/** Completes an adapter table with shape queries, validation and lazy loading. */
export function defineAdapter(table: AdapterTable): ArchAdapter {
  return {
    ...table,
    paramNames: (cfg) => table.params(cfg).map((p) => p.name),
    expectedShape(cfg, name) {
      const spec = table.params(cfg).find((p) => p.name === name);
      if (!spec) throw new LocusError('bad-input', `a ${table.modelType} model has no parameter ${name}`);
      return spec.shape;
    },
    validate: (cfg, store) => validate(table, cfg, store),
    load(cfg, store) {
      const { resolved, warnings } = validate(table, cfg, store);
      return new LazyParams(table.modelType, table.tiedUnembed(cfg), warnings, table.params(cfg), resolved, store);
    },
  };
}
