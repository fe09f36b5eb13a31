/**
 * Measured costs on this machine, per model fingerprint, intra-op thread count and kind of work, in one
 * small user-level file next to the statistics cache (`~/.cache/locus/cost.json`, or
 * `$XDG_CACHE_HOME/locus/cost.json`; methods/stats/cacheLocation.ts). A trace, sweep, study or edit that
 * finishes records its seconds per unit here; the cost preview reads them back (estimate.ts).
 *
 * Best effort: the file is only a hint for an estimate, so an unreadable or foreign file reads as empty
 * and a failed write never fails the work that measured it (recordCost returns false).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeBytesAtomic } from '../files/write';
import type { LoadedModel } from '../model/model';
import type { EditMethod } from '../methods/registry/index';
import { userStatsCacheDir } from '../methods/stats/cacheLocation';

/**
 * What a unit is: one restored run of a trace grid (a noised copy at one cell); one run of a study's
 * or sweep's localization (its noise trace, or its patching), priced apart because it is recorded as the
 * session's time the edits did not take (warm-up included); or one edit of a method, measured and reverted.
 */
export type CostUnit = 'restored-run' | 'study-trace-run' | 'patching-run' | `edit:${EditMethod}`;

export interface MeasuredCost {
  /** Seconds per unit, a running mean weighted towards recent runs. */
  readonly seconds: number;
  /** How many runs contributed. */
  readonly runs: number;
  readonly updated: string;
}

interface CostFile {
  readonly kind: 'locus-cost';
  readonly format: 1;
  /** Key: `${fingerprint}|${threads}|${unit}`. */
  readonly costs: Record<string, MeasuredCost>;
}

/** `cost.json` beside the user-level statistics cache folder. */
export function userCostFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(path.dirname(userStatsCacheDir(env)), 'cost.json');
}

/** Intra-op threads the model's sessions run with (runtime/ort.ts: the asked number, default 4, at most the cores). */
export function effectiveThreads(model: LoadedModel): number {
  return Math.max(1, Math.min(model.sessions.threads ?? 4, os.availableParallelism()));
}

const keyOf = (model: LoadedModel, unit: CostUnit): string => `${model.manifest.fingerprint}|${effectiveThreads(model)}|${unit}`;

function readCostFile(file: string): CostFile {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<CostFile>;
    if (parsed.kind === 'locus-cost' && parsed.format === 1 && typeof parsed.costs === 'object' && parsed.costs !== null) return parsed as CostFile;
  } catch {
    // Missing, unreadable or not JSON: nothing measured yet.
  }
  return { kind: 'locus-cost', format: 1, costs: {} };
}

/** The measured cost of `unit` on this model and thread count, if any run recorded one. */
export function measuredCost(model: LoadedModel, unit: CostUnit, file = userCostFile()): MeasuredCost | undefined {
  const c = readCostFile(file).costs[keyOf(model, unit)];
  return c && Number.isFinite(c.seconds) && c.seconds > 0 ? c : undefined;
}

/**
 * Records `seconds` spent on `units` units. The stored value moves a quarter of the way to a new
 * measurement once it has four runs behind it (a mean before that), so the machine's present speed
 * counts most without one noisy run replacing it. Returns false when nothing was written.
 */
export function recordCost(model: LoadedModel, unit: CostUnit, seconds: number, units: number, file = userCostFile()): boolean {
  if (!(units > 0) || !(seconds > 0) || !Number.isFinite(seconds)) return false;
  try {
    const data = readCostFile(file);
    const key = keyOf(model, unit);
    const old = data.costs[key];
    const now = seconds / units;
    const weight = old ? 1 / Math.min(old.runs + 1, 4) : 1;
    const next: MeasuredCost = { seconds: old ? old.seconds + weight * (now - old.seconds) : now, runs: (old?.runs ?? 0) + 1, updated: new Date().toISOString() };
    const out: CostFile = { ...data, costs: { ...data.costs, [key]: next } };
    writeBytesAtomic(file, new TextEncoder().encode(JSON.stringify(out, null, 1) + '\n'), 'cost file');
    return true;
  } catch {
    return false;
  }
}
