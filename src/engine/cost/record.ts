/**
 * Recording what finished work cost, for the next preview (store.ts): called by the CLI commands and
 * worker handlers when a trace, sweep or study ends. Best effort: nothing here throws.
 */
import type { LoadedModel } from '../model/model';
import type { EditMethod } from '../methods/registry/index';
import type { StudyWork } from './work';
import { recordCost, userCostFile } from './store';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A finished trace grid: its seconds over its restored runs (cells × samples). */
export function recordTraceCost(model: LoadedModel, result: { readonly cells: number; readonly samples: number; readonly seconds: number }, file = userCostFile()): void {
  recordCost(model, 'restored-run', result.seconds, result.cells * result.samples, file);
}

/**
 * Edits that finished, per method: the median edit's seconds (a method's first edit on a model also
 * computes its statistics, once: an outlier the next runs will not pay).
 */
export function recordEditCosts(model: LoadedModel, edits: ReadonlyArray<{ readonly method: EditMethod; readonly seconds: number }>, file = userCostFile()): number {
  const byMethod = new Map<EditMethod, number[]>();
  for (const e of edits) if (Number.isFinite(e.seconds) && e.seconds > 0) byMethod.set(e.method, [...(byMethod.get(e.method) ?? []), e.seconds]);
  for (const [method, secs] of byMethod) recordCost(model, `edit:${method}`, median(secs) * secs.length, secs.length, file);
  return edits.reduce((s, e) => s + (Number.isFinite(e.seconds) ? e.seconds : 0), 0);
}

/**
 * A finished (not cancelled) study session: its edits per method, and its localizations' runs
 * (`planned`, counted before it started) priced by the wall-clock time the edits did not take.
 */
export function recordStudyCosts(model: LoadedModel, planned: StudyWork, added: ReadonlyArray<{ readonly method: EditMethod; readonly seconds: number }>, wallSeconds: number, file = userCostFile()): void {
  const editSeconds = recordEditCosts(model, added, file);
  const localizing = wallSeconds - editSeconds;
  if (planned.runs > 0 && localizing > 0) recordCost(model, planned.localization === 'patching' ? 'patching-run' : 'study-trace-run', localizing, planned.runs, file);
}
