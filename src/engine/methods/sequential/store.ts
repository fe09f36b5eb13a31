/**
 * A sequential run on disk:
 *   manifest.json       { kind: "locus-sequential", model, spec } (atomic: temp, fsync, rename)
 *   start.json          the curves' point of the unedited model (atomic)
 *   batches.jsonl       one BatchRecord per completed batch, appended and fsync'ed (a kill leaves at
 *                       most a partial last line, which readers ignore and the next writer cuts off)
 *   deltas/NNNNNN.f32   the batch's ΔW values as little-endian float32, written atomically BEFORE its
 *                       line, so every line's deltas are on disk; resuming re-applies them bit for bit
 * Layout and atomicity follow the study's store (methods/study/store.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { fsError, readJsonObject } from '../../files/read';
import { writeBytesAtomic, writeJsonAtomic } from '../../files/write';
import type { ModelManifest } from '../../model/model';
import type { Edit, ParamDelta } from '../edit/edits';
import { frobenius } from '../edit/edits';
import type { BatchRecord, SequentialSpec, StoredDelta } from './types';

export const SEQ_MANIFEST = 'manifest.json';
export const SEQ_BATCHES = 'batches.jsonl';
export const SEQ_START = 'start.json';
const DELTAS = 'deltas';

export interface SequentialManifest {
  readonly kind: 'locus-sequential';
  readonly model: ModelManifest;
  readonly spec: SequentialSpec;
}

const deltaFile = (dir: string, batch: number): string => path.join(dir, DELTAS, `${String(batch).padStart(6, '0')}.f32`);

export function readSequentialManifest(dir: string): SequentialManifest | undefined {
  const file = path.join(dir, SEQ_MANIFEST);
  if (!fs.existsSync(file)) return undefined;
  const m = readJsonObject(file, 'sequential run manifest');
  if (m.kind !== 'locus-sequential' || typeof m.spec !== 'object' || m.spec === null) {
    throw new LocusError('bad-config', `${file} is not a Locus sequential run (no kind "locus-sequential" with a spec)`);
  }
  return m as unknown as SequentialManifest;
}

export function writeSequentialManifest(dir: string, m: SequentialManifest): void {
  writeJsonAtomic(path.join(dir, SEQ_MANIFEST), m, 'sequential run manifest');
}

/** The complete lines of batches.jsonl and the bytes they occupy (a last line without "\n" is an interrupted append). */
export function readBatches(dir: string): { batches: BatchRecord[]; complete: number } {
  const file = path.join(dir, SEQ_BATCHES);
  if (!fs.existsSync(file)) return { batches: [], complete: 0 };
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw fsError(e, file, 'sequential batches');
  }
  const end = buf.lastIndexOf(0x0a) + 1;
  const batches: BatchRecord[] = [];
  buf.subarray(0, end).toString('utf8').split('\n').forEach((line, k) => {
    if (line.trim() === '') return;
    let v: BatchRecord;
    try {
      v = JSON.parse(line) as BatchRecord;
    } catch {
      throw new LocusError('bad-config', `${file}:${k + 1} is not a JSON line (the file is damaged; remove that line to resume)`);
    }
    if (v.batch !== batches.length || !Array.isArray(v.deltas) || !Array.isArray(v.requests)) {
      throw new LocusError('bad-config', `${file}:${k + 1} is not batch ${batches.length} of a sequential run; remove it and the lines after it to resume`);
    }
    batches.push(v);
  });
  return { batches, complete: end };
}

/** Writes a batch's deltas to its binary file (atomically) and returns their index for the batch's line. */
export function writeBatchDeltas(dir: string, batch: number, edit: Edit): StoredDelta[] {
  const parts: Float32Array[] = [];
  const stored: StoredDelta[] = [];
  let offset = 0;
  for (const d of edit.deltas) {
    const arrays = d.kind === 'rank-one' ? [d.u, d.v] : [d.delta];
    const length = arrays.reduce((s, a) => s + a.length, 0);
    stored.push({ param: d.param, kind: d.kind, shape: d.kind === 'rank-one' ? [d.u.length, d.v.length] : [...d.shape], offset, length, frobenius: frobenius(d) });
    parts.push(...arrays);
    offset += length;
  }
  const bytes = Buffer.concat(parts.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  const file = deltaFile(dir, batch);
  writeBytesAtomic(file, bytes, 'sequential deltas');
  return stored;
}

/** A stored batch's deltas, exactly as computed (the float32 bytes written). */
export function readBatchDeltas(dir: string, record: BatchRecord): ParamDelta[] {
  const file = deltaFile(dir, record.batch);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw fsError(e, file, `the deltas of batch ${record.batch}`);
  }
  const need = record.deltas.reduce((s, d) => Math.max(s, d.offset + d.length), 0) * 4;
  if (buf.length !== need) throw new LocusError('bad-config', `${file} holds ${buf.length} bytes, not the ${need} its line in ${SEQ_BATCHES} names; the run is damaged`);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  return record.deltas.map((d): ParamDelta => {
    const values = all.slice(d.offset, d.offset + d.length);
    if (d.kind === 'rank-one') return { param: d.param, kind: 'rank-one', u: values.slice(0, d.shape[0]), v: values.slice(d.shape[0]) };
    return { param: d.param, kind: 'dense', shape: d.shape, delta: values };
  });
}

/** Appends batch lines, one fsync each; opening cuts off a partial last line. */
export class BatchWriter {
  private readonly fd: number;
  private readonly file: string;
  constructor(dir: string) {
    this.file = path.join(dir, SEQ_BATCHES);
    const { complete } = readBatches(dir);
    try {
      if (fs.existsSync(this.file) && fs.statSync(this.file).size > complete) fs.truncateSync(this.file, complete);
      this.fd = fs.openSync(this.file, 'a');
    } catch (e) {
      throw fsError(e, this.file, 'sequential batches');
    }
  }
  append(record: BatchRecord): void {
    try {
      fs.writeSync(this.fd, JSON.stringify(record) + '\n');
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw fsError(e, this.file, 'sequential batches');
    }
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}
