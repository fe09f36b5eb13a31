/**
 * Reads a sequential run folder for the panel (layout: engine methods/sequential/store.ts): the
 * manifest's spec, start.json (the unedited model's point) and the points of batches.jsonl's complete
 * lines. Plain JSON reading: the extension host never imports the engine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SequentialPointView, SequentialView } from '../../protocol/panels/sequential';

interface ManifestLike {
  kind?: unknown;
  model?: { name?: unknown };
  spec?: { method?: unknown; problem?: unknown; batchSize?: unknown; cases?: unknown };
}

/** JSON's null for NaN (a score that does not apply) back to NaN, so the charts leave a gap. */
const nanScores = (p: SequentialPointView): SequentialPointView =>
  p.scores === null ? p : { ...p, scores: Object.fromEntries(Object.entries(p.scores).map(([k, v]) => [k, v === null ? NaN : v])) as unknown as NonNullable<SequentialPointView['scores']> };

export function isSequentialRun(dir: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ManifestLike).kind === 'locus-sequential';
  } catch {
    return false;
  }
}

export function sequentialView(dir: string): SequentialView {
  const file = path.join(dir, 'manifest.json');
  let m: ManifestLike;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as ManifestLike;
  } catch (e) {
    throw new Error(`${file} cannot be read (${e instanceof Error ? e.message : String(e)}): is this a sequential run folder?`);
  }
  if (m.kind !== 'locus-sequential' || !m.spec) throw new Error(`${file} is not a Locus sequential run`);
  const points: SequentialPointView[] = [];
  const start = path.join(dir, 'start.json');
  if (fs.existsSync(start)) points.push(JSON.parse(fs.readFileSync(start, 'utf8')) as SequentialPointView);
  let done = 0;
  const batches = path.join(dir, 'batches.jsonl');
  if (fs.existsSync(batches)) {
    const text = fs.readFileSync(batches, 'utf8');
    // Only complete lines: the worker may be appending the next one right now.
    for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
      if (line.trim() === '') continue;
      const b = JSON.parse(line) as { requests?: unknown[]; point?: SequentialPointView };
      done += b.requests?.length ?? 0;
      if (b.point) points.push(b.point);
    }
  }
  return {
    summary: {
      dir, name: path.basename(dir), model: String(m.model?.name ?? '?'), method: String(m.spec.method), problem: String(m.spec.problem), batchSize: Number(m.spec.batchSize),
      requests: Array.isArray(m.spec.cases) ? m.spec.cases.length : 0, done,
    },
    points: points.map(nanScores),
  };
}
