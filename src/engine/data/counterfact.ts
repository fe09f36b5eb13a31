/**
 * CounterFact records (ROME's full schema, ../shared/data/README.md §1): loading, validation, the
 * bundled sample and `--cases` selection. Every problem with a file is one LocusError line naming the
 * file, the record's 0-based index (JSON lines: also its 1-based line) and its case_id when known.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../errors';
import { readTextFile } from '../files/read';

export interface CounterFactRecord {
  /** Unique within a file (checked on load), 0..21918 in ROME's full dataset. */
  readonly case_id: number;
  readonly pararel_idx: number;
  readonly requested_rewrite: {
    /** A template holding exactly one "{}" where the subject goes, e.g. "{} is located in". */
    readonly prompt: string;
    readonly relation_id: string;
    readonly target_new: { readonly str: string; readonly id: string };
    /** No leading space: ROME tokenizes " " + str. */
    readonly target_true: { readonly str: string; readonly id: string };
    readonly subject: string;
  };
  /** Non-empty (checked), so a fraction over them is always defined. */
  readonly paraphrase_prompts: readonly string[];
  /** Other subjects whose true object is target_true; non-empty (checked). */
  readonly neighborhood_prompts: readonly string[];
  readonly attribute_prompts: readonly string[];
  readonly generation_prompts: readonly string[];
}

/** Where the bundled sample lives relative to the package root (a copy of the azhx test split). */
export const SAMPLE_SUBPATH = path.join('assets', 'data', 'counterfact_sample.json');

/**
 * The bundled 2,191-record sample: walks up from this file (out/src/engine/data or dist/) to the
 * package root, the first folder holding package.json, and never above it.
 */
export function defaultDatasetPath(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, SAMPLE_SUBPATH);
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (fs.existsSync(path.join(dir, 'package.json')) || up === dir) break;
    dir = up;
  }
  throw new LocusError('not-found', `the bundled CounterFact sample (${SAMPLE_SUBPATH}) is not installed in this build: pass --dataset FILE`);
}

/** The `filled` prompt of a record: the subject put in place of "{}" (a function, so "$&" in a subject stays literal). */
export function fillPrompt(r: CounterFactRecord): string {
  return r.requested_rewrite.prompt.replace('{}', () => r.requested_rewrite.subject);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Returns a problem description for one record, or undefined when it is well formed. */
function problem(v: unknown): string | undefined {
  if (!isObject(v)) return `is ${Array.isArray(v) ? 'an array' : v === null ? 'null' : `a ${typeof v}`}, not an object`;
  if ('ground_truth' in v && !('requested_rewrite' in v)) {
    return `is in EasyEdit format (prompt/ground_truth); locus needs ROME's full CounterFact schema (requested_rewrite, paraphrase_prompts, neighborhood_prompts, ...)`;
  }
  for (const k of ['case_id', 'pararel_idx']) {
    if (!(k in v)) return `has no ${k}`;
    if (!Number.isSafeInteger(v[k]) || (v[k] as number) < 0) return `${k} must be a non-negative integer (got ${JSON.stringify(v[k])})`;
  }
  const rr = v.requested_rewrite;
  if (!isObject(rr)) return rr === undefined ? 'has no requested_rewrite' : 'requested_rewrite must be an object';
  for (const k of ['prompt', 'relation_id', 'subject']) {
    if (!(k in rr)) return `has no requested_rewrite.${k}`;
    if (typeof rr[k] !== 'string' || rr[k] === '') return `requested_rewrite.${k} must be a non-empty string (got ${JSON.stringify(rr[k])})`;
  }
  const holes = (rr.prompt as string).split('{}').length - 1;
  if (holes !== 1) return `requested_rewrite.prompt ${holes === 0 ? 'has no "{}"' : `has ${holes} "{}", not one`} (${JSON.stringify(rr.prompt)})`;
  for (const t of ['target_new', 'target_true']) {
    const o = rr[t];
    if (!isObject(o)) return o === undefined ? `has no requested_rewrite.${t}` : `requested_rewrite.${t} must be an object { str, id }`;
    for (const k of ['str', 'id']) {
      if (!(k in o)) return `has no requested_rewrite.${t}.${k}`;
      if (typeof o[k] !== 'string' || o[k] === '') return `requested_rewrite.${t}.${k} must be a non-empty string (got ${JSON.stringify(o[k])})`;
    }
  }
  for (const k of ['paraphrase_prompts', 'neighborhood_prompts', 'attribute_prompts', 'generation_prompts']) {
    const a = v[k];
    if (a === undefined) return `has no ${k}`;
    if (!Array.isArray(a)) return `${k} must be an array of strings`;
    const bad = a.findIndex((s) => typeof s !== 'string' || s === '');
    if (bad >= 0) return `${k}[${bad}] must be a non-empty string (got ${JSON.stringify(a[bad])})`;
    if (a.length === 0 && (k === 'paraphrase_prompts' || k === 'neighborhood_prompts')) return `${k} is empty (eval scores a fraction of them)`;
  }
  return undefined;
}

/** Parses the file's text into raw records with the line each started on (JSON lines only). */
function parseRecords(file: string, text: string): { value: unknown; line?: number }[] {
  const body = text.replace(/^\uFEFF/, '');
  let whole: unknown;
  let wholeError: Error | undefined;
  try {
    whole = JSON.parse(body);
  } catch (e) {
    wholeError = e as Error;
  }
  if (Array.isArray(whole)) return whole.map((value) => ({ value }));
  if (isObject(whole)) return [{ value: whole, line: 1 }];
  const trimmed = body.trimStart();
  if (wholeError && trimmed.startsWith('{')) {
    // JSON lines: one record per non-blank line.
    const out: { value: unknown; line: number }[] = [];
    body.split(/\r?\n/).forEach((l, i) => {
      if (l.trim() === '') return;
      try {
        out.push({ value: JSON.parse(l), line: i + 1 });
      } catch (e) {
        throw new LocusError('bad-config', `${file}: line ${i + 1} is not valid JSON (${(e as Error).message}); expected a JSON array of CounterFact records or one record per line`);
      }
    });
    return out;
  }
  if (wholeError) throw new LocusError('bad-config', `${file} is not valid JSON (${wholeError.message}); expected a JSON array of CounterFact records or one record per line`);
  throw new LocusError('bad-config', `${file}: expected a JSON array of CounterFact records or one record per line, not ${whole === null ? 'null' : typeof whole}`);
}

/**
 * Loads a JSON array of full-schema CounterFact records, or JSON lines (one record per line).
 * Invariant of the result: every record passed `problem`, case_ids are unique, file order is kept.
 */
export function loadCounterFact(file: string): CounterFactRecord[] {
  const abs = path.resolve(file);
  let isDir = false;
  try {
    isDir = fs.statSync(abs).isDirectory();
  } catch {
    // readTextFile below says why (absent, permission denied, a link loop).
  }
  if (isDir) throw new LocusError('not-found', `${abs} is a folder; --dataset takes a CounterFact JSON (or JSON lines) file`);
  // readTextFile drops a UTF-8 BOM and turns every file-system failure into one line.
  const raw = parseRecords(abs, readTextFile(abs, 'dataset file'));
  if (raw.length === 0) throw new LocusError('bad-config', `${abs} holds no records`);
  const seen = new Map<number, number>();
  raw.forEach(({ value, line }, i) => {
    const where = `${abs}: ${line !== undefined ? `line ${line}, ` : ''}record ${i}`;
    const id = isObject(value) && Number.isSafeInteger(value.case_id) ? (value.case_id as number) : undefined;
    const p = problem(value);
    if (p) throw new LocusError('bad-config', `${where}${id !== undefined ? ` (case_id ${id})` : ''}: ${p}`);
    const first = seen.get(id!);
    if (first !== undefined) throw new LocusError('bad-config', `${where} (case_id ${id}): case_id ${id} is also record ${first}; case_ids must be unique`);
    seen.set(id!, i);
  });
  return raw.map((r) => r.value as CounterFactRecord);
}

/** `--cases`: a list of case_ids and inclusive case_id ranges, or the first `n` known facts. */
export type CaseSpec =
  | { readonly kind: 'ids'; readonly items: readonly (readonly [number, number])[]; readonly text: string }
  | { readonly kind: 'known'; readonly n: number };

/** Parses `0-99`, `12,40,77`, `0-9,40` or `known:N`. Numbers are case_ids, never indices into the file. */
export function parseCaseSpec(spec: string): CaseSpec {
  const s = spec.trim();
  const bad = (why: string): LocusError =>
    new LocusError('bad-input', `--cases "${spec}": ${why}; use case_ids and ranges ("0-99", "12,40,77") or "known:N"`);
  const known = /^known:(.*)$/.exec(s);
  if (known) {
    if (!/^\d+$/.test(known[1]) || Number(known[1]) < 1) throw bad(`"${known[1]}" is not a positive integer`);
    return { kind: 'known', n: Number(known[1]) };
  }
  const items = s.split(',').map((part): [number, number] => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw bad(`"${part.trim()}" is not a case_id or a range A-B`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a) throw bad(`range ${a}-${b} is reversed`);
    return [a, b];
  });
  return { kind: 'ids', items, text: s };
}

/**
 * The records an `ids` spec selects, in file order (each once). Single case_ids must exist (the
 * error lists up to 5 missing ones); each range must match at least one record.
 */
export function selectCases(records: readonly CounterFactRecord[], spec: Extract<CaseSpec, { kind: 'ids' }>, source = 'the dataset'): CounterFactRecord[] {
  const ids = new Set(records.map((r) => r.case_id));
  const missing = spec.items.filter(([a, b]) => a === b && !ids.has(a)).map(([a]) => a);
  if (missing.length > 0) {
    const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
    throw new LocusError('not-found', `no record in ${source} has case_id ${missing.slice(0, 5).join(', ')}${more}`);
  }
  for (const [a, b] of spec.items) {
    if (a !== b && !records.some((r) => r.case_id >= a && r.case_id <= b)) {
      throw new LocusError('not-found', `no record in ${source} has a case_id in ${a}-${b}`);
    }
  }
  return records.filter((r) => spec.items.some(([a, b]) => r.case_id >= a && r.case_id <= b));
}
