/**
 * Mapped weights (issue 17, "lean weights", second step): a big float32 model's parameters that are
 * stored exactly as the graphs use them (a safetensors tensor taken whole or as a contiguous range,
 * F32, little-endian) are never read into the process at all. The graph names them as ONNX external
 * initializers pointing into the user's own file, and ORT maps that span (Env::MapFileIntoMemory:
 * mmap MAP_PRIVATE from the page-aligned offset below it, so the file is never written) and
 * multiplies from the mapped pages. Measured on the GPT-2-XL-shaped file: reading 6.2 GB into fresh
 * memory costs ~1.6 M page faults (~21 s of kernel time on this VM); mapping it costs ~60 k faults
 * (the kernel maps 16 page-cache pages per fault) and under 1 s.
 * A parameter cut from a fused tensor by columns (GPT-2's c_attn: W_Q, W_K, W_V are column blocks of
 * one [D, 3D] matrix) is mapped as the whole fused tensor: x·W_Q is the column block of x·W_qkv, so
 * the graph multiplies by the fused matrix and slices the product (ORT's common-subexpression pass
 * merges the three identical products into one). Transposed parameters (nn.Linear layouts) stay fed
 * (fedWeights.ts).
 *
 * A truncated file (an interrupted download) is refused when it is opened: openSafetensors checks
 * every tensor's data offsets against the file's size before anything is read or mapped (safetensors.ts
 * parseEntry, 'bad-weights' naming the file, the tensor's end and the data section's size). Sessions are
 * created lazily, long after that, so each stand-in handed to a graph checks the file's size again
 * (checkFileSize). What cannot be prevented: a file truncated while ORT has it mapped. Its pages past
 * the new end then raise SIGBUS in whatever reads them (the kernel, not us, decides; POSIX mmap), and
 * the process dies: MAP_PRIVATE keeps our writes private, not the file's length. Replacing the file
 * (a new inode: what downloaders and `git checkout` do) is harmless to an existing mapping.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocusError } from '../errors';
import type { GraphSpec, NodeSpec, TensorValue } from '../graph/proto';
import { rawBytes } from '../graph/proto';
import type { ArchAdapter } from './arch/types';
import type { ModelConfig } from './config';
import type { ParamName } from './names';
import type { WeightStore } from './safetensors';
import type { Tensor } from '../tensor/tensor';

/** Where an external initializer's bytes are: a file name in `MappedSource.folder`, byte offset and length. */
export interface ExternalRef {
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

/** How a mapped parameter is taken from the file: the span itself, or a column block of a fused [rows, cols] tensor. */
export type MappedRef =
  | { readonly kind: 'whole'; readonly ref: ExternalRef }
  | { readonly kind: 'columns'; readonly fused: ExternalRef; readonly stored: string; readonly dims: readonly [number, number]; readonly start: number; readonly count: number };

/** What the session cache needs from mapped weights (model.ts hands it over without the parameters an edit replaced). */
export interface MappedSource {
  /** The real folder holding the mapped files (ORT refuses external data outside the folder it is given). */
  readonly folder: string;
  /** Whether ORT prepacks the mapped matrices (a packed copy in memory; weights.ts MAPPED_PREPACK_BYTES); default not. */
  readonly prepack?: boolean;
  /**
   * A stand-in for parameter `name` when it is mapped: the right shape, no values (a zero-length
   * array whose buffer identifies it); undefined when the parameter must be read (not mapped, or edited).
   */
  placeholder(name: ParamName): Tensor | undefined;
  /** What a stand-in's bytes (`rawBytes(placeholder.data)`) stand for, else undefined. */
  external(raw: Uint8Array): MappedRef | undefined;
  /** Rows of a mapped table read from the file alone (MappedWeights.table); undefined when it must be read whole. */
  table?: TableRows;
}

/** A [rows, d] table whose rows can be read without the rest: `read(ids)` is float32 [ids.length × d]; ids must be in range. */
export interface TableReader {
  readonly shape: readonly [number, number];
  read(ids: BigInt64Array): Float32Array;
}

/** The reader of parameter `name`, or undefined when it is not a mapped whole tensor (or an edit replaced it). */
export type TableRows = (name: ParamName) => TableReader | undefined;

export class MappedWeights {
  private readonly refs = new Map<ParamName, { ref: MappedRef; shape: readonly number[]; stored: string }>();
  private readonly standIns = new WeakMap<ArrayBufferLike, MappedRef>();
  /** Per mapped file (its name in `folder`), the end of the last byte any mapped parameter reads. */
  private readonly fileEnds = new Map<string, number>();

  private constructor(
    readonly folder: string,
    /** Checks a stored tensor for NaN/Inf before its first use; cheap once checked (weights.ts FiniteCheckingStore.checkInPlace). */
    private readonly checkFinite: (stored: string) => void,
    readonly prepack: boolean,
  ) {}

  /**
   * The parameters of `store` that can be mapped, or undefined when none can (a big-endian host, a store
   * that cannot say where its tensors lie, no float32 tensor taken whole or as a range).
   */
  static of(adapter: ArchAdapter, cfg: ModelConfig, store: WeightStore, checkFinite: (stored: string) => void, prepack = false): MappedWeights | undefined {
    if (os.endianness() !== 'LE' || store.locate === undefined) return undefined;
    const { resolved } = adapter.validate(cfg, store);
    let mapped: MappedWeights | undefined;
    for (const spec of adapter.params(cfg)) {
      const stored = resolved.get(spec.hf) as string;
      const span = store.locate(stored);
      const tr = spec.transform;
      if (span.dtype !== 'F32' || (tr.kind !== 'copy' && tr.kind !== 'range' && tr.kind !== 'columns')) continue;
      // A Hugging Face cache snapshot links each file to ../../blobs/<hash>: ORT is given the real folder.
      const real = fs.realpathSync(span.file);
      mapped ??= new MappedWeights(path.dirname(real), checkFinite, prepack);
      // One folder per session: shards that resolve elsewhere stay fed.
      if (path.dirname(real) !== mapped.folder) continue;
      const whole: ExternalRef = { location: path.basename(real), offset: span.offset, length: span.byteLength };
      let ref: MappedRef;
      if (tr.kind === 'columns') {
        const [rows, cols] = store.shape(stored);
        ref = { kind: 'columns', fused: whole, stored, dims: [rows, cols], start: tr.start, count: tr.count };
      } else if (tr.kind === 'range') ref = { kind: 'whole', ref: { ...whole, offset: span.offset + 4 * tr.start, length: 4 * tr.count } };
      else ref = { kind: 'whole', ref: whole };
      mapped.refs.set(spec.name, { ref, shape: spec.shape, stored });
      mapped.fileEnds.set(whole.location, Math.max(mapped.fileEnds.get(whole.location) ?? 0, whole.offset + whole.length));
    }
    return mapped;
  }

  get count(): number {
    return this.refs.size;
  }

  /** A MappedSource that reads (rather than maps) the parameters `skip` says (those an edit replaced). */
  unless(skip: (name: ParamName) => boolean): MappedSource {
    return {
      folder: this.folder,
      prepack: this.prepack,
      placeholder: (name) => (skip(name) ? undefined : this.placeholder(name)),
      external: (raw) => this.standIns.get(raw.buffer),
      table: (name) => (skip(name) ? undefined : this.table(name)),
    };
  }

  /**
   * The token (or position) embedding rows a forward pass gathers (interp/embed.ts), read straight from
   * the file: reading the whole table to copy a few rows held GPT-2 XL's 321 MB token table in memory
   * for the rest of the process (LazyParams caches what it reads). The table is still checked for
   * NaN/Inf once, chunk by chunk (checkFinite), as its mapped use in the unembedding is.
   */
  private table(name: ParamName): TableReader | undefined {
    const m = this.refs.get(name);
    if (!m || m.ref.kind !== 'whole' || m.shape.length !== 2) return undefined;
    const { location, offset } = m.ref.ref;
    const [rows, d] = m.shape;
    return { shape: [rows, d], read: (ids) => this.readRows(location, offset, m.stored, d, ids) };
  }

  private readRows(location: string, offset: number, stored: string, d: number, ids: BigInt64Array): Float32Array {
    this.checkFileSize(location);
    this.checkFinite(stored);
    const rowBytes = 4 * d;
    const out = new Float32Array(ids.length * d); // [ids, d]
    const fd = fs.openSync(path.join(this.folder, location), 'r');
    try {
      for (let i = 0; i < ids.length; i++) {
        const into = new Uint8Array(out.buffer, i * rowBytes, rowBytes);
        const n = fs.readSync(fd, into, 0, rowBytes, offset + Number(ids[i]) * rowBytes);
        if (n !== rowBytes) throw new LocusError('bad-weights', `${path.join(this.folder, location)}: row ${ids[i]} of ${stored} ends past the end of the file: the file was truncated after the model was loaded; load the model again`);
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }

  private placeholder(name: ParamName): Tensor | undefined {
    const m = this.refs.get(name);
    if (!m) return undefined;
    this.checkFileSize(m.ref.kind === 'whole' ? m.ref.ref.location : m.ref.fused.location);
    this.checkFinite(m.stored);
    const data = new Float32Array(0);
    this.standIns.set(data.buffer, m.ref);
    return { shape: [...m.shape], data };
  }

  /**
   * Refuses a mapped file that has become shorter than its header says since it was opened, before ORT
   * maps it (reading a mapped page past the end of a file is SIGBUS, not an error). One stat per stand-in.
   */
  private checkFileSize(location: string): void {
    const file = path.join(this.folder, location);
    const expected = this.fileEnds.get(location) ?? 0;
    let actual: number;
    try {
      actual = fs.statSync(file).size;
    } catch (e) {
      throw new LocusError('bad-weights', `${file} can no longer be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): it was moved or deleted after the model was loaded; load the model again`);
    }
    if (actual < expected) {
      throw new LocusError('bad-weights', `${file} is ${actual} bytes but its header places tensor data up to byte ${expected}: the file was truncated after the model was loaded; load the model again (re-download it if it is incomplete)`);
    }
  }
}

const int64 = (name: string, values: readonly number[]): TensorValue => ({ name, dataType: 'int64', dims: [values.length], raw: rawBytes(BigInt64Array.from(values, BigInt)) });

/**
 * The graph with every mapped stand-in made real: a whole or range parameter becomes an initializer
 * whose data is external; a column block W = W_fused[:, start:start+count] must be the B of MatMuls
 * only, each rewritten as Slice(A · W_fused, last axis). Fails loudly on any other use of a column
 * block (a graph that would need its values).
 */
export function mapStandIns(spec: GraphSpec, source: MappedSource): GraphSpec {
  const initializers: TensorValue[] = [];
  const columns = new Map<string, Extract<MappedRef, { kind: 'columns' }>>();
  for (const init of spec.initializers) {
    const m = source.external(init.raw);
    if (m === undefined) initializers.push(init);
    else if (m.kind === 'whole') initializers.push({ ...init, raw: new Uint8Array(0), external: m.ref });
    else columns.set(init.name as string, m);
  }
  if (columns.size === 0) return { ...spec, initializers };
  const fusedNames = new Set<string>();
  const nodes: NodeSpec[] = [];
  for (const n of spec.nodes) {
    const m = columns.get(n.inputs[1]);
    if (n.inputs.some((input, i) => columns.has(input) && !(i === 1 && n.opType === 'MatMul'))) {
      throw new Error(`mapped weights: ${n.name} (${n.opType}) uses a column block of a fused weight other than as a MatMul's B`);
    }
    if (m === undefined) {
      nodes.push(n);
      continue;
    }
    const fused = `mapped.${m.stored}`;
    if (!fusedNames.has(fused)) {
      fusedNames.add(fused);
      initializers.push({ name: fused, dataType: 'float', dims: [...m.dims], raw: new Uint8Array(0), external: m.fused });
    }
    const out = n.outputs[0];
    initializers.push(int64(`${out}.cols.starts`, [m.start]), int64(`${out}.cols.ends`, [m.start + m.count]), int64(`${out}.cols.axes`, [-1]));
    nodes.push({ ...n, inputs: [n.inputs[0], fused], outputs: [`${out}.fused`] }); // [..., rows, d_fused]
    nodes.push({ opType: 'Slice', inputs: [`${out}.fused`, `${out}.cols.starts`, `${out}.cols.ends`, `${out}.cols.axes`], outputs: [out], name: `${n.name}.cols` }); // [..., rows, count]
  }
  return { ...spec, nodes, initializers };
}
