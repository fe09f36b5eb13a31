/**
 * C's Cholesky factor kept beside the statistics cache, so that a process reading cached statistics
 * does not factor C again. ROME solves C x = k* once per edit (rome/compute_u.py keeps C⁻¹ in memory
 * per layer, `inv_mom2_cache`); in a fresh process Locus's float64 factor of GPT-2 small's C
 * (d_mlp 3072, n³/3 ≈ 9.7·10⁹ multiply-adds in JS) took 9–12 s of CPU, more than the rest of
 * `locus edit` (bench/edit.ts). Reading the stored factor takes a fraction of a second.
 *
 * File: `{cache entry}.cholesky.safetensors`, one F64 tensor `lower` = the factor's lower triangle row
 * by row (n(n+1)/2 values; the upper triangle is zero), with metadata naming the C it factors (the
 * sha256 of the float32 tensor in the cache entry) and its own sha256. A file that does not match in
 * every field is ignored and overwritten; the factor is then computed as before, so results never
 * depend on whether the file was there (the stored factor is the computed one, bit for bit).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { attachFactorStore } from '../linalg';

const FORMAT = 'locus-cholesky/1';
const TENSOR = 'lower';
/** Below this dimension factoring is quicker than reading a file (d_mlp 640: ~0.1 s): nothing is stored. */
export const FACTOR_FILE_MIN_DIM = 1024;

interface Header {
  __metadata__: { format: string; dim: string; mom2Sha256: string; sha256: string };
  [TENSOR]: { dtype: 'F64'; shape: [number]; data_offsets: [number, number] };
}

const bytesOf = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The factor in `file` when it factors the C whose float32 sha256 is `mom2Sha256`; undefined otherwise. */
export function readFactorFile(file: string, dim: number, mom2Sha256: string): Float64Array | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Header;
    const meta = header.__metadata__;
    const t = header[TENSOR];
    const count = (dim * (dim + 1)) / 2;
    const start = 8 + headerLength;
    if (meta?.format !== FORMAT || meta.dim !== String(dim) || meta.mom2Sha256 !== mom2Sha256) return undefined;
    if (t?.dtype !== 'F64' || t.shape[0] !== count || t.data_offsets[0] !== 0 || t.data_offsets[1] !== 8 * count || bytes.length !== start + 8 * count) return undefined;
    const data = bytes.subarray(start);
    if (crypto.createHash('sha256').update(data).digest('hex') !== meta.sha256) return undefined;
    const lower = new Float64Array(count);
    bytesOf(lower).set(data);
    const L = new Float64Array(dim * dim); // [dim, dim], zero above the diagonal as choleskyFactor leaves it
    for (let i = 0, at = 0; i < dim; at += i + 1, i++) L.set(lower.subarray(at, at + i + 1), i * dim);
    return L;
  } catch {
    return undefined;
  }
}

/** Writes L's lower triangle atomically (temp file + rename); a cache that cannot be written is skipped (the factor is only a speed-up). */
export function writeFactorFile(file: string, L: Float64Array, dim: number, mom2Sha256: string): void {
  const count = (dim * (dim + 1)) / 2;
  const lower = new Float64Array(count);
  for (let i = 0, at = 0; i < dim; at += i + 1, i++) lower.set(L.subarray(i * dim, i * dim + i + 1), at);
  const data = bytesOf(lower);
  const header: Header = {
    __metadata__: { format: FORMAT, dim: String(dim), mom2Sha256, sha256: crypto.createHash('sha256').update(data).digest('hex') },
    [TENSOR]: { dtype: 'F64', shape: [count], data_offsets: [0, 8 * count] },
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, ' ')]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, Buffer.concat([prefix, json, data]));
    fs.renameSync(tmp, file);
  } catch {
    /* read-only or full: the next process factors C again */
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Lets linalg.ts's shared factor of `C` come from (and go to) `file`. `mom2Sha256`: the sha256 of the
 * float32 tensor C was read from or written to (the cache entry's sidecar). Small C: nothing attached.
 */
export function attachFactorFile(C: Float64Array, dim: number, file: string, mom2Sha256: string, minDim = FACTOR_FILE_MIN_DIM): void {
  if (dim < minDim) return;
  attachFactorStore(C, {
    load: () => readFactorFile(file, dim, mom2Sha256),
    save: (L) => writeFactorFile(file, L, dim, mom2Sha256),
  });
}
