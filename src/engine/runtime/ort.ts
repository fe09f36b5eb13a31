/**
 * The only file that imports onnxruntime-node. Everything else sees `RuntimeSession`, which takes and
 * returns the engine's own tensors. Note: onnxruntime-node's run() and session creation are
 * synchronous native calls that block the JS thread; the engine therefore lives in a worker process.
 */
import * as os from 'node:os';
// Must stay before onnxruntime-node: it turns onnxruntime's telemetry off before the library loads.
import './offline';
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../tensor/tensor';

// ORT's own log goes straight to stderr in colour, outside our one-line errors (a missing CUDA
// provider printed a 300-character "[E:onnxruntime…]" line before Locus's message). Every failure
// still reaches us as an exception, so only fatal lines are let through. Read once, at ORT's init.
ort.env.logLevel = 'fatal';

export type Device = 'cpu' | 'webgpu' | 'cuda';

/**
 * Whether this process runs with Locus's glibc malloc settings (src/protocol/mallocTuning.ts: freed
 * heap memory is kept and reused, huge pages). Then ORT's per-session memory arenas are turned off:
 * every session's arena grows to its own peak (12 block sessions each faulting in and zeroing their
 * own hundreds of MB on a process's first trace grid), where malloc recycles one pool for all.
 * Measured (`locus trace`, GPT-2-small folder, 10 tokens, 2 threads, load 1.7): 19.8–20.2 s wall and
 * 3.0 GB peak RSS with arenas, 14.9–16.1 s and 1.6 GB without; the grids are identical. Without the
 * settings the two are even (34 s both), so the arenas stay on there.
 */
const mallocReusesMemory = /glibc\.malloc\.hugetlb=1/.test(process.env.GLIBC_TUNABLES ?? '');

export interface RuntimeOptions {
  readonly device?: Device;
  /** Intra-op threads per session (default: the machine's cores, at most 4; `npm run bench` compares 1 and 2). */
  readonly threads?: number;
  /** Spinning thread pools burn a core between runs; off by default because the engine keeps many sessions. */
  readonly spin?: boolean;
}

/** An int64 tensor (token ids, positions). */
export interface IdTensor {
  readonly shape: readonly number[];
  readonly ids: BigInt64Array;
}

export type Feed = Tensor | IdTensor;

function toOrt(f: Feed): ort.Tensor {
  if ('ids' in f) return new ort.Tensor('int64', f.ids, f.shape as number[]);
  return new ort.Tensor('float32', f.data, f.shape as number[]);
}

/**
 * Weights a graph takes as inputs instead of initializers ("fed weights", model/fedWeights.ts):
 * `acquire` on every run gives the current values, which go in under the caller's feeds, and a
 * `release` called when the run is over (the values may be reused after it).
 */
export interface WeightFeeds {
  acquire(): { readonly values: Record<string, Tensor>; release(): void };
}

export class RuntimeSession {
  private released = false;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly name: string,
    private readonly weights?: WeightFeeds,
  ) {}

  /**
   * `external`: the graph has initializers whose data is external (model/mappedWeights.ts), in files of
   * `folder`. ORT maps them in place; MatMul prepacking is off for such a session unless `prepack`,
   * because it copies every mapped weight into fresh memory (the copy the mapping avoids for big models;
   * a mid-size model keeps it: packing B once beats packing it in every MatMul call).
   */
  static async create(name: string, model: Uint8Array, opts: RuntimeOptions = {}, weights?: WeightFeeds, external?: { readonly folder: string; readonly prepack?: boolean }): Promise<RuntimeSession> {
    const device = opts.device ?? 'cpu';
    // Never more threads than cores: ORT starts one OS thread per intra-op thread and session, so an
    // unchecked number (a typo of 100000) grows until the kernel kills the process.
    const cores = os.availableParallelism();
    const threads = Math.max(1, Math.min(opts.threads ?? 4, cores));
    const session = await ort.InferenceSession.create(model, {
      executionProviders: [device],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // Shapes vary from call to call (batch, positions): a memory pattern planned for one shape is not reused.
      enableMemPattern: false,
      enableCpuMemArena: !mallocReusesMemory,
      extra: {
        session: {
          intra_op: { allow_spinning: opts.spin ? '1' : '0' },
          ...(external && { model_external_initializers_file_folder_path: external.folder, disable_prepacking: external.prepack ? '0' : '1' }),
        },
      },
    });
    return new RuntimeSession(session, name, weights);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph and returns exactly the requested outputs as float32 tensors. */
  async run(feeds: Record<string, Feed>, fetch: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.released) throw new Error(`session ${this.name} was released`);
    const ortFeeds: Record<string, ort.Tensor> = {};
    const weights = this.weights?.acquire();
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      for (const [k, v] of Object.entries(weights?.values ?? {})) ortFeeds[k] = toOrt(v);
      for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
      result = await this.session.run(ortFeeds, fetch as string[]);
    } finally {
      weights?.release();
    }
    const out: Record<string, Tensor> = {};
    for (const name of fetch) {
      const t = result[name];
      if (t.type !== 'float32') throw new Error(`session ${this.name}: output ${name} is ${t.type}, expected float32`);
      out[name] = { shape: t.dims.slice(), data: t.data as Float32Array };
    }
    return out;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/** Builds one graph run of the whole network (used by the benchmark's fused baseline and by tests). */
export function ortVersion(): string {
  return ort.env.versions.node ?? 'unknown';
}
