/**
 * A study folder on disk: `manifest.json` (written atomically: temp file, fsync, rename) and
 * `results.jsonl` (one row per line, each appended and fsync'ed, so a kill leaves at most a partial
 * last line, which readers ignore and the next run cuts off before appending).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
export { writeJsonAtomic } from '../../files/write';
import { fsError, readJsonObject } from '../../files/read';
import type { StudyManifest, StudyRow } from './types';
import { rowKey } from './types';

export const MANIFEST = 'manifest.json';
export const RESULTS = 'results.jsonl';


/**
 * Whether `file` exists. Only "no such file" is false: permission denied or a file where a folder should
 * be is an error saying so (existsSync would call an unreadable study "not a study").
 */
function present(file: string, what: string): boolean {
  try {
    fs.statSync(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fsError(e, file, what);
  }
}

export function readManifest(dir: string): StudyManifest | undefined {
  const file = path.join(dir, MANIFEST);
  if (!present(file, 'study manifest')) return undefined;
  const m = readJsonObject(file, 'study manifest');
  if (m.kind !== 'locus-study' || typeof m.model !== 'object' || m.model === null || typeof m.spec !== 'object' || m.spec === null) {
    throw new LocusError('bad-config', `${file} is not a Locus study manifest (no kind "locus-study" with model and spec)`);
  }
  return m as unknown as StudyManifest;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const numOrNull = (v: unknown): boolean => v === null || typeof v === 'number';

/** What is wrong with a parsed line as a study row (undefined when it is one): analyze and merge index these fields. */
function rowProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not a JSON object';
  if (!Number.isSafeInteger(v.caseId)) return 'caseId is not an integer';
  if (typeof v.method !== 'string' || typeof v.problem !== 'string') return 'method or problem is not a string';
  if (!Number.isSafeInteger(v.layer) || (v.layer as number) < 0) return 'layer is not a layer number';
  if (!numOrNull(v.tracingEffect)) return 'tracingEffect is not a number';
  const m = v.metrics;
  if (!isObject(m) || !['rewrite', 'paraphrase', 'neighborhood', 'overall'].every((k) => numOrNull(m[k]))) return 'metrics is not { rewrite, paraphrase, neighborhood, overall } of numbers';
  return undefined;
}

/**
 * The complete rows of `results.jsonl`, the line number (1-based) of each, and the byte length they
 * occupy. A last line without its newline is an interrupted append and is ignored; a bad complete line
 * is an error naming it.
 */
export function readResultsWithLength(dir: string): { rows: StudyRow[]; lines: number[]; complete: number } {
  const file = path.join(dir, RESULTS);
  if (!present(file, 'study results')) return { rows: [], lines: [], complete: 0 };
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw fsError(e, file, 'study results');
  }
  const end = buf.lastIndexOf(0x0a) + 1;
  const text = buf.subarray(0, end).toString('utf8').split('\n');
  const rows: StudyRow[] = [];
  const lines: number[] = [];
  text.forEach((line, k) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new LocusError('bad-config', `${file}:${k + 1} is not a JSON line (the file is damaged; remove that line to resume)`);
    }
    const problem = rowProblem(v);
    if (problem) throw new LocusError('bad-config', `${file}:${k + 1} is not a study result (${problem}); remove that line to resume`);
    rows.push(v as StudyRow);
    lines.push(k + 1);
  });
  return { rows, lines, complete: end };
}

/**
 * Refuses rows with a repeated key (case, method, problem, layer): a folder written twice (two processes
 * at once before the lock, or a copy appended) would count each unit twice and shrink every p-value.
 */
export function assertUniqueKeys(file: string, rows: readonly StudyRow[], lines: readonly number[]): void {
  const first = new Map<string, number>();
  rows.forEach((r, i) => {
    const key = rowKey(r);
    const prev = first.get(key);
    if (prev !== undefined) {
      throw new LocusError('bad-input', `${file}:${lines[i]} repeats the key of line ${prev} (method ${r.method}, problem ${r.problem}, layer ${r.layer}, case ${r.caseId}): the folder was written twice; remove the duplicates or re-run into a new folder`);
    }
    first.set(key, lines[i]);
  });
}

export const readResults = (dir: string): StudyRow[] => readResultsWithLength(dir).rows;

/** Appends rows to `results.jsonl`, one fsync per row. Opening cuts off a partial last line. */
export class ResultWriter {
  private readonly fd: number;
  private readonly file: string;
  constructor(dir: string) {
    const file = path.join(dir, RESULTS);
    const { complete } = readResultsWithLength(dir);
    try {
      if (fs.existsSync(file) && fs.statSync(file).size > complete) fs.truncateSync(file, complete);
      this.fd = fs.openSync(file, 'a');
    } catch (e) {
      throw fsError(e, file, 'study results');
    }
    this.file = file;
  }
  append(row: StudyRow): void {
    try {
      fs.writeSync(this.fd, JSON.stringify(row) + '\n');
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw fsError(e, this.file, 'study results');
    }
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
