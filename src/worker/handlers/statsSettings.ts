/** The statistics folders a request may name (the extension fills them from `locus.statsDir` / `locus.statsCacheDir`). */
import { checkStatsDir } from '../../engine/index';
import { check } from '../state';

/** `statsDir`: a folder of ROME/MEMIT `.npz` statistics, checked to exist; blank or absent = none. */
export function optStatsDir(value: unknown): string | undefined {
  const dir = check.optString(value, 'statsDir')?.trim();
  if (!dir) return undefined;
  checkStatsDir(dir, 'locus.statsDir');
  return dir;
}
