/**
 * NumPy's `.npy` format, read without Python (numpy/lib/format.py, "NPY format" in the NumPy docs):
 * the magic `\x93NUMPY`, a major/minor version byte pair, the header length (uint16 in 1.0, uint32 in
 * 2.0 and 3.0), then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (d, d), }`
 * padded with spaces and a newline, then the array's bytes in C order.
 *
 * Only what ROME's and MEMIT's statistics files hold is accepted: little-endian float32, float64 and
 * int64 numbers (and unicode strings, which `mom2.constructor` is), C order. Pickled object arrays
 * (`|O`) are refused, never unpickled: unpickling runs arbitrary code.
 */
import { LocusError } from '../../errors';

export type NpyDtype = '<f4' | '<f8' | '<i8';

/** A parsed header: where the data starts and what it holds. */
export interface NpyHeader {
  readonly descr: string;
  readonly shape: readonly number[];
  /** Byte offset of the array's data in the .npy bytes. */
  readonly dataOffset: number;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ITEM_BYTES: Record<NpyDtype, number> = { '<f4': 4, '<f8': 8, '<i8': 8 };

const DTYPE_NAMES: Record<string, string> = { '|O': 'pickled Python objects', '>f4': 'big-endian float32', '>f8': 'big-endian float64', '<f2': 'float16', '<i4': 'int32' };

/** The header of the .npy whose first bytes are `head` (at least the header's length); `what` names it in errors. */
export function parseNpyHeader(head: Buffer, what: string): NpyHeader {
  if (head.length < 10 || !head.subarray(0, 6).equals(MAGIC)) throw new LocusError('bad-input', `${what} is not a NumPy .npy array (no \\x93NUMPY magic)`);
  const major = head[6];
  if (major < 1 || major > 3) throw new LocusError('bad-input', `${what} is a .npy of format version ${major}.${head[7]}, which Locus does not know (1.0 to 3.0)`);
  const lenBytes = major === 1 ? 2 : 4;
  const headerLength = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
  const start = 8 + lenBytes;
  if (head.length < start + headerLength) throw new LocusError('bad-input', `${what} is truncated inside its .npy header`);
  // Version 3.0 allows UTF-8 in the header; 1.0 and 2.0 are latin-1 (ASCII for every field used here).
  const text = head.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLength);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new LocusError('bad-input', `${what} has a .npy header Locus cannot read (${JSON.stringify(text.trim().slice(0, 80))}): expected descr, fortran_order and shape`);
  }
  if (fortran === 'True') throw new LocusError('bad-input', `${what} is stored in Fortran order; Locus reads C-order arrays only (np.ascontiguousarray, then save again)`);
  const parts = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const shape = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (shape.some((n) => !Number.isSafeInteger(n))) throw new LocusError('bad-input', `${what} has a .npy shape Locus cannot read: (${shapeText})`);
  return { descr, shape, dataOffset: start + headerLength };
}

/** Elements in an array of `shape` (1 for a scalar, shape ()). */
export const elementCount = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Checks that `h` holds one of `allowed` dtypes; refuses object arrays and byte orders Locus does not read. */
export function expectDtype(h: NpyHeader, allowed: readonly NpyDtype[], what: string): NpyDtype {
  if ((allowed as readonly string[]).includes(h.descr)) return h.descr as NpyDtype;
  const named = DTYPE_NAMES[h.descr] ?? h.descr;
  const pickled = h.descr.includes('O') ? '; Locus never unpickles (it could run any code)' : '';
  throw new LocusError('bad-input', `${what} holds ${named} (dtype ${h.descr}), expected ${allowed.join(' or ')}${pickled}`);
}

/** Bytes the data of `h` takes with dtype `dtype`. */
export const dataBytes = (h: NpyHeader, dtype: NpyDtype): number => elementCount(h.shape) * ITEM_BYTES[dtype];

/**
 * The array's values as float64 (float32 widened exactly, int64 converted exactly when |v| ≤ 2⁵³,
 * else refused). `data` holds exactly the data bytes.
 */
export function npyValues(data: Buffer, dtype: NpyDtype, what: string): Float64Array | Float32Array {
  const n = data.length / ITEM_BYTES[dtype];
  // Copied to an aligned buffer: a zip entry's data may start at any byte offset.
  const aligned = data.byteOffset % ITEM_BYTES[dtype] === 0 ? data : Buffer.from(data);
  if (dtype === '<f4') return new Float32Array(aligned.buffer, aligned.byteOffset, n);
  if (dtype === '<f8') return new Float64Array(aligned.buffer, aligned.byteOffset, n);
  const ints = new BigInt64Array(aligned.buffer, aligned.byteOffset, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = ints[i];
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new LocusError('bad-input', `${what} holds ${v}, too large to be a count`);
    out[i] = Number(v);
  }
  return out;
}
