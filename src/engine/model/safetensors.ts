/**
 * Safetensors reading (on demand) and writing. Format: an 8-byte little-endian header length N, N bytes
 * of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`, then
 * the data section; offsets are relative to the start of the data section.
 * Opening parses and validates headers only; `read` pulls one tensor's bytes with a positioned read,
 * so a model far larger than memory can be opened and its tensors materialized one at a time.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocusError } from '../errors';
import { entryExists, fsError, readJsonFile } from '../files/read';
import { formatShape, numel } from '../tensor/tensor';
import type { Tensor } from '../tensor/tensor';

/** Bytes per element of every dtype the format defines. Only FLOAT_DTYPES can be read as float. */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4, U64: 8, I64: 8, F64: 8,
};
export const FLOAT_DTYPES: readonly string[] = ['F32', 'F16', 'BF16', 'F64'];
/** The reference implementation's limit; a larger header means a corrupt length prefix. */
const MAX_HEADER_BYTES = 100_000_000;
/** Positioned reads and writes stay under libuv's 2 GiB per-call limit. */
const IO_CHUNK = 1 << 30;
/** Chunk of `scan`: a multiple of 4 (whole float32 values). */
const SCAN_CHUNK = 16 << 20;
const LITTLE_ENDIAN_HOST = os.endianness() === 'LE';
const sameShapeAs = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** Tensors by name from one safetensors file or a sharded checkpoint. Tensors are read on demand. */
export interface WeightStore {
  /** What the tensors come from, for messages: `model.safetensors` or `model.safetensors.index.json`. */
  readonly source: string;
  /** Sum of the tensors' stored byte lengths. */
  readonly totalBytes: number;
  /** `__metadata__` of the (first) file. */
  readonly metadata: Readonly<Record<string, string>>;
  names(): string[];
  has(name: string): boolean;
  shape(name: string): readonly number[];
  dtype(name: string): string;
  /** Reads one tensor converted to float32 (F32, F16, BF16, F64); a fresh buffer the caller owns. */
  read(name: string): Tensor;
  /** Reads an F16 or BF16 tensor's 16-bit values as stored (no widening); a fresh buffer the caller owns. */
  readHalf?(name: string): HalfTensor;
  /** Where a tensor's bytes lie in its file (for ORT to map them in place: model/mappedWeights.ts). */
  locate?(name: string): StoredSpan;
  /**
   * Visits a float32 tensor's values in file order, chunk by chunk through one reused buffer (the
   * chunk is only valid during the call), so a tensor can be checked without holding a copy of it.
   */
  scan?(name: string, visit: (chunk: Float32Array) => void): void;
  /** Closes the files; `read` fails afterwards. */
  close(): void;
}

/** A tensor's place in a file: the file's path, the byte offset of its first value, its byte length. */
export interface StoredSpan {
  readonly file: string;
  readonly dtype: string;
  readonly offset: number;
  readonly byteLength: number;
}

/** A tensor kept in its stored 16-bit form (IEEE half or bfloat16); `widenHalf` turns it into float32. */
export interface HalfTensor {
  readonly shape: readonly number[];
  readonly dtype: 'F16' | 'BF16';
  readonly data: Uint16Array;
}

export const HALF_DTYPES: readonly string[] = ['F16', 'BF16'];

interface Entry {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute offset in the file. */
  readonly offset: number;
  readonly byteLength: number;
  readonly shard: Shard;
}

/** One open .safetensors file: its descriptor and parsed header. */
interface Shard {
  readonly file: string;
  readonly fd: number;
  readonly entries: Map<string, Entry>;
  readonly metadata: Record<string, string>;
}

function bad(message: string): LocusError {
  return new LocusError('bad-weights', message);
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Fills `target` from `fd` at `position`, failing on a short read (file truncated since opened). */
function readExact(fd: number, target: Uint8Array, position: number, what: string): void {
  let done = 0;
  while (done < target.byteLength) {
    let n: number;
    try {
      n = fs.readSync(fd, target, done, Math.min(target.byteLength - done, IO_CHUNK), position + done);
    } catch (e) {
      throw fsError(e, what, 'weights');
    }
    if (n === 0) throw bad(`${what}: unexpected end of file (the file is truncated or was changed while open)`);
    done += n;
  }
}

/**
 * Opens and validates one file's header; the descriptor stays open in the returned shard. Every
 * file-system failure (absent, unreadable, a link loop, a folder) is one LocusError line.
 */
function openShard(file: string): Shard {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw fsError(e, file, 'weights file');
  }
  // Checked before opening: opening a FIFO blocks until a writer appears, and a folder opens fine
  // on Linux but fails on the first read.
  if (st.isDirectory()) throw new LocusError('io', `weights file ${file} is a folder, expected a file`);
  if (!st.isFile()) throw bad(`weights file ${file} is not a regular file (a device, pipe or socket)`);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw fsError(e, file, 'weights file');
  }
  try {
    return parseShard(file, fd);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function parseShard(file: string, fd: number): Shard {
  const size = fs.fstatSync(fd).size;
  if (size < 8) throw bad(`${file} is ${size} bytes, shorter than the 8-byte header length: truncated or not a safetensors file`);
  const prefix = new Uint8Array(8);
  readExact(fd, prefix, 0, file);
  const headerLen = Number(Buffer.from(prefix.buffer).readBigUInt64LE(0));
  if (headerLen > size - 8 || headerLen > MAX_HEADER_BYTES) {
    const limit = headerLen > MAX_HEADER_BYTES ? `more than the ${MAX_HEADER_BYTES}-byte limit` : `but only ${size - 8} bytes follow the length`;
    throw bad(`${file} declares a ${headerLen}-byte header, ${limit}: truncated or not a safetensors file`);
  }
  const headerBytes = Buffer.alloc(headerLen);
  readExact(fd, headerBytes, 8, file);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch (e) {
    throw bad(`${file}: the header is not valid JSON (${(e as Error).message}): not a safetensors file or corrupt`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad(`${file}: the header is not a JSON object`);
  const dataStart = 8 + headerLen;
  const dataSize = size - dataStart;
  const shard: Shard = { file, fd, entries: new Map(), metadata: {} };
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) if (typeof v === 'string') shard.metadata[k] = v;
      continue;
    }
    shard.entries.set(name, parseEntry(file, name, raw, dataStart, dataSize, shard));
  }
  checkOverlaps(file, shard.entries);
  return shard;
}

function parseEntry(file: string, name: string, raw: unknown, dataStart: number, dataSize: number, shard: Shard): Entry {
  const where = `${file}: tensor ${name}`;
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const dtype = r['dtype'];
  if (typeof dtype !== 'string' || DTYPE_BYTES[dtype] === undefined) {
    throw bad(`${where} has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  const shape = r['shape'];
  if (!Array.isArray(shape) || !shape.every(isUint)) throw bad(`${where} has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
  const offs = r['data_offsets'];
  if (!Array.isArray(offs) || offs.length !== 2 || !isUint(offs[0]) || !isUint(offs[1]) || offs[0] > offs[1]) {
    throw bad(`${where} has data_offsets ${JSON.stringify(offs)}; expected [begin, end] integers with 0 <= begin <= end`);
  }
  const [begin, end] = offs as [number, number];
  if (end > dataSize) {
    throw bad(`${where} has data offsets past the end of the file ([${begin}, ${end}] but the data section is ${dataSize} bytes): the file is truncated or corrupt`);
  }
  const need = numel(shape) * DTYPE_BYTES[dtype];
  if (end - begin !== need) {
    throw bad(`${where} occupies ${end - begin} bytes but ${dtype} ${formatShape(shape)} needs ${need}: the file is corrupt`);
  }
  return { dtype, shape, offset: dataStart + begin, byteLength: need, shard };
}

function checkOverlaps(file: string, entries: Map<string, Entry>): void {
  const spans = [...entries].filter(([, e]) => e.byteLength > 0).sort((a, b) => a[1].offset - b[1].offset);
  for (let i = 1; i < spans.length; i++) {
    const [prevName, prev] = spans[i - 1];
    const [name, cur] = spans[i];
    if (cur.offset < prev.offset + prev.byteLength) throw bad(`${file}: tensors ${prevName} and ${name} overlap: the file is corrupt`);
  }
}

let f16Table: Float32Array | undefined;

/** IEEE half → float, including subnormals (m·2⁻²⁴), ±Inf and NaN. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Swaps each element's bytes in place: files are little-endian, typed arrays use the host order. */
function swapIfBigEndian(bytes: Uint8Array, size: number): void {
  if (LITTLE_ENDIAN_HOST || size === 1) return;
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/** F16 or BF16 values → float32 (into `into` when given), exactly (every half and bfloat16 value is a float32 value). */
export function widenHalf(half: Uint16Array, dtype: 'F16' | 'BF16', into?: Float32Array): Float32Array {
  const n = half.length;
  if (into !== undefined && into.length !== n) throw new Error(`widenHalf: ${n} values into a buffer of ${into.length}`);
  const out = into ?? new Float32Array(n);
  if (dtype === 'F16') {
    const table = (f16Table ??= Float32Array.from({ length: 65536 }, (_, h) => halfToFloat(h)));
    for (let i = 0; i < n; i++) out[i] = table[half[i]];
  } else {
    // BF16 is the top half of a float32: shift the bits into place (NaN/Inf/subnormals carry over).
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = half[i] << 16;
  }
  return out;
}

/** `bytes` must own its whole ArrayBuffer (offset 0), so every typed view on it is aligned. */
function decode(bytes: Uint8Array, dtype: string): Float32Array {
  swapIfBigEndian(bytes, DTYPE_BYTES[dtype]);
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer, 0, n);
    case 'F64':
      return Float32Array.from(new Float64Array(bytes.buffer, 0, n));
    default:
      return widenHalf(new Uint16Array(bytes.buffer, 0, n), dtype as 'F16' | 'BF16');
  }
}

class SafetensorsStore implements WeightStore {
  readonly totalBytes: number;
  readonly metadata: Readonly<Record<string, string>>;
  private closed = false;

  constructor(
    readonly source: string,
    private readonly entries: Map<string, Entry>,
    private readonly shards: Shard[],
  ) {
    this.totalBytes = [...entries.values()].reduce((s, e) => s + e.byteLength, 0);
    this.metadata = shards[0]?.metadata ?? {};
  }

  names = (): string[] => [...this.entries.keys()];
  has = (name: string): boolean => this.entries.has(name);
  shape = (name: string): readonly number[] => this.entry(name).shape;
  dtype = (name: string): string => this.entry(name).dtype;

  read(name: string): Tensor {
    const e = this.entry(name);
    if (!FLOAT_DTYPES.includes(e.dtype)) {
      throw bad(`${e.shard.file}: tensor ${name} has dtype ${e.dtype}; Locus reads only ${FLOAT_DTYPES.join(', ')} as weights`);
    }
    return { shape: [...e.shape], data: decode(this.bytesOf(name, e), e.dtype) };
  }

  readHalf(name: string): HalfTensor {
    const e = this.entry(name);
    if (!HALF_DTYPES.includes(e.dtype)) throw new Error(`readHalf(${name}): the tensor is ${e.dtype}, not F16 or BF16`);
    const bytes = this.bytesOf(name, e);
    swapIfBigEndian(bytes, 2);
    return { shape: [...e.shape], dtype: e.dtype as 'F16' | 'BF16', data: new Uint16Array(bytes.buffer, 0, bytes.byteLength / 2) };
  }

  locate(name: string): StoredSpan {
    const e = this.entry(name);
    return { file: e.shard.file, dtype: e.dtype, offset: e.offset, byteLength: e.byteLength };
  }

  private scratch?: Float32Array;

  scan(name: string, visit: (chunk: Float32Array) => void): void {
    const e = this.entry(name);
    if (e.dtype !== 'F32' || !LITTLE_ENDIAN_HOST) throw new Error(`scan(${name}): only F32 tensors on a little-endian host, not ${e.dtype}`);
    if (this.closed) throw new Error(`scan(${name}) after close(): the weight store is closed`);
    // One 16 MiB buffer, faulted in once: reading through it costs a copy from the page cache, not fresh memory.
    const scratch = (this.scratch ??= new Float32Array(SCAN_CHUNK / 4));
    const bytes = new Uint8Array(scratch.buffer);
    for (let done = 0; done < e.byteLength; done += SCAN_CHUNK) {
      const n = Math.min(SCAN_CHUNK, e.byteLength - done);
      readExact(e.shard.fd, bytes.subarray(0, n), e.offset + done, `${e.shard.file}: tensor ${name}`);
      visit(scratch.subarray(0, n / 4));
    }
  }

  /**
   * The tensor's stored bytes, read straight into a fresh ArrayBuffer of exactly its size (not a slice
   * of a pooled Buffer: a typed array cannot view an unaligned offset, and file offsets need not be aligned).
   */
  private bytesOf(name: string, e: Entry): Uint8Array {
    if (this.closed) throw new Error(`read(${name}) after close(): the weight store is closed`);
    const bytes = new Uint8Array(new ArrayBuffer(e.byteLength));
    readExact(e.shard.fd, bytes, e.offset, `${e.shard.file}: tensor ${name}`);
    return bytes;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.shards) fs.closeSync(s.fd);
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw new LocusError('missing-tensor', `${this.source} has no tensor named ${name}`);
    return e;
  }
}

/** Opens one .safetensors file. */
export function openSafetensorsFile(file: string): WeightStore {
  const shard = openShard(file);
  return new SafetensorsStore(path.basename(file), shard.entries, [shard]);
}

const INDEX = 'model.safetensors.index.json';
const PICKLE = /\.(bin|pt|pth|pkl|ckpt)$/i;

/**
 * Opens a model folder's weights: `model.safetensors`, else a sharded checkpoint through
 * `model.safetensors.index.json`, else a lone `*.safetensors`. Pickle checkpoints are refused.
 */
export function openSafetensors(folder: string): WeightStore {
  let files: string[];
  try {
    files = fs.readdirSync(folder);
  } catch (e) {
    throw (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? new LocusError('not-found', `${folder} is not a folder`) : fsError(e, folder, 'model folder');
  }
  if (files.includes('model.safetensors')) return openSafetensorsFile(path.join(folder, 'model.safetensors'));
  if (files.includes(INDEX)) return openSharded(folder);
  const safetensors = files.filter((f) => f.endsWith('.safetensors'));
  if (safetensors.length === 1) return openSafetensorsFile(path.join(folder, safetensors[0]));
  if (safetensors.length > 1) throw bad(`${folder} has ${safetensors.length} .safetensors files but no ${INDEX} saying which tensors each holds`);
  const pickles = files.filter((f) => PICKLE.test(f));
  if (pickles.length > 0) {
    throw new LocusError(
      'unsupported-format',
      `${folder} has only pickle checkpoints (${pickles.join(', ')}), which Locus refuses because loading a pickle can execute arbitrary code; ` +
        `convert the folder to safetensors once with: python -c "from transformers import AutoModelForCausalLM as M; ` +
        `M.from_pretrained('${folder}').save_pretrained('${folder}', safe_serialization=True)"`,
    );
  }
  throw new LocusError('not-found', `${folder} has no model.safetensors (nor ${INDEX}): is it a Hugging Face model folder?`);
}

/** The index's weight_map decides which shard holds each tensor; its keys are the store's names. */
function openSharded(folder: string): WeightStore {
  const indexFile = path.join(folder, INDEX);
  const index = readJsonFile(indexFile, 'weights index');
  const map = typeof index === 'object' && index !== null ? (index as Record<string, unknown>)['weight_map'] : undefined;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw bad(`${indexFile} has no "weight_map" object`);
  const shards = new Map<string, Shard>();
  const entries = new Map<string, Entry>();
  try {
    for (const [name, shardName] of Object.entries(map as Record<string, unknown>)) {
      // A shard is a file beside the index, never a path that could leave the folder.
      if (typeof shardName !== 'string' || shardName !== path.basename(shardName) || shardName === '..' || shardName === '.') {
        throw bad(`${indexFile}: weight_map puts ${name} in ${JSON.stringify(shardName)}, which is not a file name in the folder`);
      }
      let shard = shards.get(shardName);
      if (!shard) {
        const file = path.join(folder, shardName);
        if (!entryExists(file)) throw bad(`${indexFile} puts ${name} in ${shardName}, which is missing from ${folder}: the download is incomplete`);
        shard = openShard(file);
        shards.set(shardName, shard);
      }
      const entry = shard.entries.get(name);
      if (!entry) throw bad(`${indexFile} puts ${name} in ${shardName}, but ${shard.file} has no such tensor`);
      entries.set(name, entry);
    }
  } catch (e) {
    for (const s of shards.values()) fs.closeSync(s.fd);
    throw e;
  }
  return new SafetensorsStore(INDEX, entries, [...shards.values()]);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength; ) {
    done += fs.writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, IO_CHUNK));
  }
}

/**
 * Writes F32 tensors as a safetensors file. The header is padded with spaces so the data section
 * starts 8-byte aligned. Writes a temp file in the same folder, then renames it over `file`, so a
 * reader never sees a half-written model.
 */
export function writeSafetensors(file: string, tensors: Array<{ name: string; tensor: Tensor }>, metadata?: Record<string, string>): void {
  writeSafetensorsStreaming(file, tensors.map(({ name, tensor }) => ({ name, shape: tensor.shape, produce: () => tensor })), metadata);
}

/** One tensor to write: its shape up front (for the header), its values made when written. */
export interface TensorToWrite {
  readonly name: string;
  readonly shape: readonly number[];
  produce(): Tensor;
}

/**
 * `writeSafetensors` with each tensor produced just before it is written and dropped after, so a model
 * export never holds a second copy of the whole model (issue 17). An exception from `produce` (a
 * NaN check) removes the temp file: `file` is then not written.
 */
export function writeSafetensorsStreaming(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): void {
  // No prototype: a tensor may be named like an Object.prototype member (or `__proto__`).
  const header: Record<string, unknown> = Object.create(null);
  if (metadata) header['__metadata__'] = { ...metadata };
  const seen = new Set<string>(['__metadata__']);
  let offset = 0;
  for (const { name, shape } of tensors) {
    if (seen.has(name)) throw new Error(`writeSafetensors: duplicate or reserved tensor name ${name}`);
    seen.add(name);
    const bytes = 4 * numel(shape);
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, ' ')]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));

  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    writeAll(fd, prefix);
    writeAll(fd, json);
    for (const { name, shape, produce } of tensors) {
      const tensor = produce();
      if (tensor.data.length !== numel(shape) || !sameShapeAs(tensor.shape, shape)) {
        throw new Error(`writeSafetensors: ${name} data does not match shape ${formatShape(shape)}`);
      }
      const d = tensor.data;
      let bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      if (!LITTLE_ENDIAN_HOST) swapIfBigEndian((bytes = Uint8Array.from(bytes)), 4);
      writeAll(fd, bytes);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
