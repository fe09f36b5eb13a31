/**
 * Saved results under the workspace's `.locus/runs/` (ARCHITECTURE.md "Results"): a trace, an edit or a
 * sweep is one JSON file `{ kind, label, created, data }` written atomically (temp file + rename); a study
 * is a folder with `manifest.json` + `results.jsonl` (written by the worker). The Runs view lists both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type RunKind = 'trace' | 'edit' | 'sweep' | 'study';

export interface SavedRun<T = unknown> {
  readonly kind: Exclude<RunKind, 'study'>;
  readonly label: string;
  /** ISO time. */
  readonly created: string;
  readonly data: T;
}

export interface RunEntry {
  readonly kind: RunKind;
  readonly label: string;
  /** A JSON file, or a study folder. */
  readonly path: string;
  readonly created: string;
}

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40) || 'run';

export class RunsStore {
  constructor(private readonly root: () => string | undefined) {}

  /** `<workspace>/.locus/runs`, or undefined without a workspace folder. */
  get dir(): string | undefined {
    return this.root();
  }

  /** Writes a result atomically; answers its path. Throws without a workspace folder. */
  save<T>(kind: SavedRun['kind'], label: string, data: T, now = new Date()): string {
    const dir = this.root();
    if (!dir) throw new Error('open a folder to save runs (they go to .locus/runs/ in the workspace)');
    fs.mkdirSync(dir, { recursive: true });
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    const file = path.join(dir, `${stamp}-${kind}-${slug(label)}.json`);
    const run: SavedRun<T> = { kind, label, created: now.toISOString(), data };
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(run));
    fs.renameSync(tmp, file);
    return file;
  }

  read<T>(file: string): SavedRun<T> {
    const run = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedRun<T>;
    if (!run || typeof run !== 'object' || !['trace', 'edit', 'sweep'].includes(run.kind)) throw new Error(`${file} is not a Locus run file`);
    return run;
  }

  /** Newest first. Files that are not runs (and half-written temp files) are skipped. */
  list(): RunEntry[] {
    const dir = this.root();
    if (!dir || !fs.existsSync(dir)) return [];
    const out: RunEntry[] = [];
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      try {
        if (d.isDirectory()) {
          const manifest = path.join(p, 'manifest.json');
          if (!fs.existsSync(manifest)) continue;
          const m = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { kind?: string; started?: string };
          if (m.kind !== 'locus-study') continue;
          out.push({ kind: 'study', label: d.name, path: p, created: m.started ?? fs.statSync(manifest).mtime.toISOString() });
        } else if (d.name.endsWith('.json')) {
          const r = this.read(p);
          out.push({ kind: r.kind, label: r.label, path: p, created: r.created });
        }
      } catch {
        // not ours, or unreadable: the view lists only runs it can open
      }
    }
    return out.sort((a, b) => b.created.localeCompare(a.created));
  }
}
