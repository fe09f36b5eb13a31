import { encodeModel } from '../graph/proto';
import type { GraphSpec } from '../graph/proto';
import { BLOCK_VARIANTS, buildBlockGraph, buildUnembedGraph } from '../graph/segments';
import type { BlockVariantName, ParamGetter } from '../graph/segments';
import { RuntimeSession } from '../runtime/ort';
import type { RuntimeOptions } from '../runtime/ort';
import type { Tensor } from '../tensor/tensor';
import type { ModelConfig } from './config';
import { externalizeWeights } from './fedWeights';
import type { WeightFeeder } from './fedWeights';
import { mapStandIns } from './mappedWeights';

/** Which compiled segment: a block in one of its variants (graph/segments.ts BLOCK_VARIANTS) or the head (token embeddings are gathered in JS: interp/embed.ts). */
export type SegmentKey = 'unembed' | `block.${number}.${BlockVariantName}`;

/**
 * Creates each segment's ORT session on first use and keeps it. Invariant: a cached session was
 * built from the parameters `params` returns now; code that changes a block's weights (a dense edit)
 * must call `invalidate` for the segments that read them.
 */
export class SessionCache {
  private readonly sessions = new Map<SegmentKey, Promise<RuntimeSession>>();
  /** Method graphs (objectives) by key, with the parameters each baked in. */
  private readonly custom = new Map<string, { session: Promise<RuntimeSession>; reads: Set<string> }>();

  constructor(
    private readonly cfg: ModelConfig,
    /** The parameters the graphs bake in (interp/embed.ts reads the embedding tables from here: no session). */
    readonly params: ParamGetter,
    private readonly options: RuntimeOptions,
    /** Lean weights (fedWeights.ts): graphs take the parameters they read as inputs fed on each run. */
    private readonly feeder?: WeightFeeder,
  ) {}

  /** Intra-op threads asked for (undefined: the runtime's default); the cost preview keys its measurements by them. */
  get threads(): number | undefined {
    return this.options.threads;
  }

  get(key: SegmentKey): Promise<RuntimeSession> {
    let s = this.sessions.get(key);
    if (!s) {
      const reads = new Map<string, Tensor>();
      s = this.create(key, this.graph(key, this.recording(reads, true)), reads);
      this.sessions.set(key, s);
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  graph(key: SegmentKey, params: ParamGetter = this.params): GraphSpec {
    if (key === 'unembed') return buildUnembedGraph(this.cfg, params);
    const [, layer, variant] = key.split('.');
    return buildBlockGraph(this.cfg, Number(layer), params, BLOCK_VARIANTS[variant as BlockVariantName]);
  }

  /**
   * A getter that records each parameter read with its value (lean sessions recognise them by it).
   * `mapped`: mapped parameters come as stand-ins without values; only for the segment graphs
   * (graph/segments.ts), which pass every parameter to `GraphBuilder.weight` untouched, never for a
   * method's graph, which may compute with the values.
   */
  private recording(reads: Map<string, Tensor>, mapped = false): ParamGetter {
    return (name) => {
      const t = this.feeder ? ((mapped ? this.feeder.placeholder(name) : undefined) ?? this.feeder.value(name)) : this.params(name);
      reads.set(name, t);
      return t;
    };
  }

  /** Baked: the graph as built. Lean: the parameters it read become inputs, fed on each run. */
  private create(key: string, spec: GraphSpec, reads: Map<string, Tensor>): Promise<RuntimeSession> {
    if (!this.feeder) return RuntimeSession.create(key, encodeModel(spec, 20), this.options);
    const mapped = this.feeder.mapped;
    const lean = externalizeWeights(mapped ? mapStandIns(spec, mapped) : spec, reads);
    const model = encodeModel(lean.spec, 20);
    this.feeder.trim();
    const external = mapped && lean.spec.initializers.some((i) => i.external) ? { folder: mapped.folder, prepack: mapped.prepack } : undefined;
    return RuntimeSession.create(key, model, this.options, this.feeder.feeds(lean.fed), external);
  }

  /**
   * A method's own graph (e.g. ROME's objective for a layer), built once per key and kept like the
   * segments. The parameters `build` reads are recorded, so `invalidateParam` drops it when one changes.
   */
  getCustom(key: string, build: (params: ParamGetter) => GraphSpec): Promise<RuntimeSession> {
    let entry = this.custom.get(key);
    if (!entry) {
      const values = new Map<string, Tensor>();
      const spec = build(this.recording(values));
      const session = this.create(key, spec, values);
      entry = { session, reads: new Set(values.keys()) };
      this.custom.set(key, entry);
      session.catch(() => this.custom.delete(key));
    }
    return entry.session;
  }

  /** Releases every session whose graph baked in parameter `name`. */
  async invalidateParam(name: string, segments: (key: SegmentKey) => boolean): Promise<void> {
    for (const [key, e] of [...this.custom]) {
      if (!e.reads.has(name)) continue;
      this.custom.delete(key);
      await (await e.session).release();
    }
    await this.invalidate(segments);
  }

  async invalidate(match: (key: SegmentKey) => boolean): Promise<void> {
    for (const [key, s] of [...this.sessions]) {
      if (!match(key)) continue;
      this.sessions.delete(key);
      await (await s).release();
    }
  }

  async releaseAll(): Promise<void> {
    for (const [key, e] of [...this.custom]) {
      this.custom.delete(key);
      await (await e.session).release();
    }
    await this.invalidate(() => true);
  }
}
