/**
 * The `locus.*` settings that shape requests: what a panel or command leaves out is filled from them, and
 * what the user set in the form wins. Pure apart from reading the configuration, so the merge is testable.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { EngineMethod, EngineParams } from '../protocol/engine';

export interface RequestSettings {
  /** `locus.edit.hparams`: per method, the reference's snake_case keys. */
  readonly hparams: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** `locus.statsCorpus`: '' = the model's default (the bundled WikiText-2; the embedded model's training text for it). */
  readonly statsCorpus: string;
  /** `locus.trace.noise`: "s3" or a number σ. */
  readonly traceNoise: string;
  /** `locus.statsDir`: ROME/MEMIT's published `.npz` statistics (DIR/wikipedia_stats/…); '' = none. */
  readonly statsDir?: string;
  /** `locus.statsCacheDir`: the statistics cache; '' = the user-level cache (~/.cache/locus/stats). */
  readonly statsCacheDir?: string;
}

/** A folder setting: blank → undefined, a leading `~` → the home folder (VS Code does not expand it). */
export function folderSetting(text: string | undefined, home: string = os.homedir()): string | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  return t === '~' || t.startsWith('~/') || t.startsWith('~\\') ? path.join(home, t.slice(1)) : t;
}

/** The statistics folders of an edit, sweep or study request: the request's own, else the settings'. */
function withStatsFolders<P extends { statsDir?: string; cacheDir?: string }>(p: P, s: RequestSettings): P {
  const statsDir = p.statsDir ?? folderSetting(s.statsDir);
  const cacheDir = p.cacheDir ?? folderSetting(s.statsCacheDir);
  return { ...p, ...(statsDir === undefined ? {} : { statsDir }), ...(cacheDir === undefined ? {} : { cacheDir }) };
}

/** 's3', 's2.5' stay strings; '0.1' becomes the number σ; anything else is left to the worker's default. */
export function parseNoise(text: string): `s${number}` | number | undefined {
  const t = text.trim();
  if (/^s\d+(\.\d+)?$/.test(t)) return t as `s${number}`;
  const x = Number(t);
  return t !== '' && Number.isFinite(x) && x > 0 ? x : undefined;
}

export function withSettings<M extends EngineMethod>(method: M, params: EngineParams<M>, s: RequestSettings): EngineParams<M> {
  if (method === 'edit/run') {
    const p = params as EngineParams<'edit/run'>;
    const defaults = s.hparams[p.method];
    const merged: EngineParams<'edit/run'> = {
      ...withStatsFolders(p, s),
      hparams: defaults ? { ...defaults, ...(p.hparams ?? {}) } : p.hparams,
      statsCorpus: p.statsCorpus ?? (s.statsCorpus.trim() || undefined),
    };
    return merged as EngineParams<M>;
  }
  if (method === 'sweep/run' || method === 'study/run') {
    return withStatsFolders(params as EngineParams<'sweep/run' | 'study/run'>, s) as EngineParams<M>;
  }
  if (method === 'trace/run') {
    const p = params as EngineParams<'trace/run'>;
    return { ...p, noise: p.noise ?? parseNoise(s.traceNoise) } as EngineParams<M>;
  }
  return params;
}
