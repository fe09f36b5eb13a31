/**
 * `locus study merge`: the union of several study folders (shards, or interrupted runs written to
 * different folders) into one, with one manifest. Rows are keyed by (case, method, problem, layer);
 * a duplicate with the same numbers is kept once, one with different numbers is an error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { fsError } from '../../files/read';
import { checkDirTarget } from '../../files/writeTarget';
import { requireStudy } from './analyze';
import { lockFolder } from './lock';
import { MANIFEST, readResults, RESULTS, rowContent, writeJsonAtomic } from './store';
import type { StudyManifest, StudyRow, StudySpec } from './types';
import { rowKey } from './types';

const union = <T>(lists: ReadonlyArray<readonly T[]>): T[] => [...new Set(lists.flat())];

/** Rows in the spec's order: case (spec order), method, problem, layer — the order an unsharded run writes. */
export function sortRows(rows: readonly StudyRow[], spec: StudySpec): StudyRow[] {
  const idx = <T>(list: readonly T[], v: T): number => {
    const k = list.indexOf(v);
    return k < 0 ? list.length : k;
  };
  return [...rows].sort(
    (a, b) =>
      idx(spec.cases, a.caseId) - idx(spec.cases, b.caseId) || a.caseId - b.caseId ||
      idx(spec.methods, a.method) - idx(spec.methods, b.method) ||
      idx(spec.problems, a.problem) - idx(spec.problems, b.problem) ||
      idx(spec.layers, a.layer) - idx(spec.layers, b.layer) || a.layer - b.layer,
  );
}

/** Merges the rows of `dirs` (pure; the error names the key and both folders). */
export function mergeRows(sources: ReadonlyArray<{ dir: string; rows: readonly StudyRow[] }>): StudyRow[] {
  const seen = new Map<string, { row: StudyRow; dir: string }>();
  for (const { dir, rows } of sources) {
    for (const row of rows) {
      const key = rowKey(row);
      const prev = seen.get(key);
      if (!prev) seen.set(key, { row, dir });
      else if (rowContent(prev.row) !== rowContent(row)) {
        throw new LocusError('bad-input', `conflicting results for case ${row.caseId}, ${row.method}, ${row.problem}, layer ${row.layer} in ${prev.dir} and ${dir}`);
      }
    }
  }
  return [...seen.values()].map((v) => v.row);
}

export interface MergeSummary {
  readonly rows: number;
  readonly duplicates: number;
  readonly outDir: string;
}

/** Merges study folders into `outDir` (created; must not already hold results; locked while written). */
export function mergeStudies(dirs: readonly string[], outDir: string): MergeSummary {
  if (dirs.length === 0) throw new LocusError('bad-input', 'nothing to merge: give at least one study folder');
  const out = checkDirTarget(outDir, '--out');
  const manifests: StudyManifest[] = dirs.map((d) => requireStudy(d));
  const first = manifests[0];
  manifests.forEach((m, k) => {
    if (m.model.fingerprint !== first.model.fingerprint) {
      throw new LocusError('bad-input', `${dirs[k]} was run on another model (${m.model.name} ${m.model.fingerprint}) than ${dirs[0]} (${first.model.name} ${first.model.fingerprint})`);
    }
  });
  const sources = dirs.map((dir) => ({ dir, rows: readResults(dir) }));
  const merged = mergeRows(sources);
  const spec: StudySpec = {
    ...first.spec,
    cases: union(manifests.map((m) => m.spec.cases)),
    methods: union(manifests.map((m) => m.spec.methods)),
    problems: union(manifests.map((m) => m.spec.problems)),
    layers: union(manifests.map((m) => m.spec.layers)),
  };
  const rows = sortRows(merged, spec);
  const lock = lockFolder(out, '--out');
  try {
    if (fs.existsSync(path.join(out, RESULTS)) && fs.statSync(path.join(out, RESULTS)).size > 0) {
      throw new LocusError('bad-input', `--out ${out} already holds results; merge into a new folder`);
    }
    const manifest: StudyManifest = {
      kind: 'locus-study', format: 1, engineVersion: first.engineVersion, model: first.model, spec,
      started: manifests.map((m) => m.started).sort()[0], mergedFrom: dirs.map((d) => path.resolve(d)),
    };
    const tmp = path.join(out, `${RESULTS}.tmp-${process.pid}`);
    try {
      fs.writeFileSync(tmp, rows.map((r) => JSON.stringify(r) + '\n').join(''));
      fs.renameSync(tmp, path.join(out, RESULTS));
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw fsError(e, path.join(out, RESULTS), 'merged results');
    }
    writeJsonAtomic(path.join(out, MANIFEST), manifest);
  } finally {
    lock.release();
  }
  const total = sources.reduce((n, s) => n + s.rows.length, 0);
  return { rows: rows.length, duplicates: total - rows.length, outDir: out };
}
