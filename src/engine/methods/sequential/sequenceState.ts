/**
 * The state a method keeps across the batches of one run (registry/spec.ts SequenceState: AlphaEdit's
 * P and cache of earlier keys) saved beside the batch it follows, `sequence/NNNNNN.bin`, so a resumed
 * run continues with exactly the state an uninterrupted one would have (the reference keeps it in
 * memory only: a resumed AlphaEdit sequence would otherwise restart its key cache at zero).
 *
 * Plain data only: Map, arrays, plain objects, numbers, strings, booleans, null, undefined and typed
 * float/int arrays (stored as their bytes, so floats come back bit for bit). Anything else (a class
 * instance, a function) makes the state unsavable: the run then says resuming it is not supported.
 * Layout: 4-byte little-endian JSON length, the JSON tree (typed arrays as { $t, o, n } into the bytes), the bytes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { fsError } from '../../files/read';
import { writeBytesAtomic } from '../../files/write';

type Typed = Float64Array | Float32Array | Int32Array | Uint8Array;
const TYPED: Record<string, new (b: ArrayBuffer) => Typed> = { Float64Array, Float32Array, Int32Array, Uint8Array };

/** Encodes `value`, appending typed-array bytes to `blobs`; undefined when it holds something that is not plain data. */
function encode(value: unknown, blobs: Buffer[], offset: { n: number }): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (value === undefined) return { $u: 1 };
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $n: String(value) };
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    if (!(name in TYPED)) throw new Error(name);
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const pad = (8 - (offset.n % 8)) % 8; // aligned so the typed array can view the buffer
    if (pad) blobs.push(Buffer.alloc(pad));
    const o = offset.n + pad;
    blobs.push(bytes);
    offset.n = o + bytes.length;
    return { $t: name, o, n: bytes.length };
  }
  if (value instanceof Map) return { $m: [...value].map(([k, v]) => [encode(k, blobs, offset), encode(v, blobs, offset)]) };
  if (Array.isArray(value)) return value.map((v) => encode(v, blobs, offset));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v, blobs, offset)]));
  }
  throw new Error(typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value);
}

function decode(tree: unknown, bytes: Buffer): unknown {
  if (tree === null || typeof tree !== 'object') return tree;
  if (Array.isArray(tree)) return tree.map((v) => decode(v, bytes));
  const o = tree as Record<string, unknown>;
  if ('$u' in o) return undefined;
  if ('$n' in o) return Number(o.$n);
  if ('$t' in o) {
    const copy = new Uint8Array(o.n as number);
    copy.set(bytes.subarray(o.o as number, (o.o as number) + (o.n as number)));
    return new TYPED[o.$t as string](copy.buffer);
  }
  if ('$m' in o) return new Map((o.$m as Array<[unknown, unknown]>).map(([k, v]) => [decode(k, bytes), decode(v, bytes)]));
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decode(v, bytes)]));
}

const stateFile = (dir: string, batch: number): string => path.join(dir, 'sequence', `${String(batch).padStart(6, '0')}.bin`);

/** Saves the state after `batch` (atomically) and removes the one before it. Throws a LocusError when the state is not plain data. */
export function saveSequenceState(dir: string, batch: number, state: ReadonlyMap<string, unknown>, method: string): void {
  const blobs: Buffer[] = [];
  let tree: unknown;
  try {
    tree = encode(state, blobs, { n: 0 });
  } catch (e) {
    throw new LocusError('bad-input', `${method} keeps state between batches that cannot be saved (${(e as Error).message}): run it without --out, resuming it is not supported yet`);
  }
  const json = Buffer.from(JSON.stringify(tree), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32LE(json.length);
  const file = stateFile(dir, batch);
  writeBytesAtomic(file, Buffer.concat([head, json, ...blobs]), 'sequence state');
}

/** Drops the states of batches before `batch` (once `batch`'s line is written, they are never needed). */
export function pruneSequenceStates(dir: string, batch: number): void {
  const folder = path.join(dir, 'sequence');
  if (!fs.existsSync(folder)) return;
  for (const f of fs.readdirSync(folder)) {
    const m = /^(\d{6})\.bin$/.exec(f);
    if (m && Number(m[1]) < batch) fs.rmSync(path.join(folder, f), { force: true });
  }
}

/** The state saved after `batch`, or undefined when that batch left none. */
export function loadSequenceState(dir: string, batch: number): Map<string, unknown> | undefined {
  const file = stateFile(dir, batch);
  if (!fs.existsSync(file)) return undefined;
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw fsError(e, file, 'sequence state');
  }
  const n = buf.readUInt32LE(0);
  const tree = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as unknown;
  const state = decode(tree, buf.subarray(4 + n));
  if (!(state instanceof Map)) throw new LocusError('bad-config', `${file} is not a saved sequence state; the run is damaged`);
  return state as Map<string, unknown>;
}
