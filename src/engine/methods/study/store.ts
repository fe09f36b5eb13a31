/**
 * A study folder on disk: `manifest.json` (written atomically: temp file, fsync, rename) and
 * `results.jsonl` (one row per line, each appended and fsync'ed, so a kill leaves at most a partial
 * last line, which readers ignore and the next run cuts off before appending).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import type { StudyManifest, StudyRow } from './types';

export const MANIFEST = 'manifest.json';
export const RESULTS = 'results.jsonl';

/** Writes JSON to `file` atomically: a crash leaves either the old file or the new one. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(value, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function readManifest(dir: string): StudyManifest | undefined {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) return undefined;
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as StudyManifest;
    if (m.kind !== 'locus-study') throw new Error('not a Locus study manifest');
    return m;
  } catch (e) {
    throw new LocusError('bad-config', `${file}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * The complete rows of `results.jsonl` and the byte length they occupy. A last line without its
 * newline is an interrupted append and is ignored; a bad complete line is an error.
 */
export function readResultsWithLength(dir: string): { rows: StudyRow[]; complete: number } {
  const file = path.join(dir, RESULTS);
  if (!fs.existsSync(file)) return { rows: [], complete: 0 };
  const buf = fs.readFileSync(file);
  const end = buf.lastIndexOf(0x0a) + 1;
  const lines = buf.subarray(0, end).toString('utf8').split('\n');
  const rows: StudyRow[] = [];
  lines.forEach((line, k) => {
    if (line.trim() === '') return;
    try {
      rows.push(JSON.parse(line) as StudyRow);
    } catch {
      throw new LocusError('bad-config', `${file}:${k + 1} is not a JSON line (the file is damaged; remove that line to resume)`);
    }
  });
  return { rows, complete: end };
}

export const readResults = (dir: string): StudyRow[] => readResultsWithLength(dir).rows;

/** Appends rows to `results.jsonl`, one fsync per row. Opening cuts off a partial last line. */
export class ResultWriter {
  private readonly fd: number;
  constructor(dir: string) {
    const file = path.join(dir, RESULTS);
    const { complete } = readResultsWithLength(dir);
    if (fs.existsSync(file) && fs.statSync(file).size > complete) fs.truncateSync(file, complete);
    this.fd = fs.openSync(file, 'a');
  }
  append(row: StudyRow): void {
    fs.writeSync(this.fd, JSON.stringify(row) + '\n');
    fs.fsyncSync(this.fd);
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

/** A row's numbers without its timing: two runs of the same unit must agree on this. */
export const rowContent = (r: StudyRow): string => {
  const { seconds: _seconds, ...rest } = r;
  return JSON.stringify(rest);
};

/** The engine version recorded in manifests: the package.json `version` above this file. */
export function engineVersion(): string {
  let dir = __dirname;
  for (;;) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      try {
        return String((JSON.parse(fs.readFileSync(p, 'utf8')) as { version?: unknown }).version ?? 'unknown');
      } catch {
        return 'unknown';
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}
