/**
 * Where key statistics are cached and looked up.
 *
 * - The user-level cache, shared by every workspace: `$XDG_CACHE_HOME/locus/stats`, else
 *   `~/.cache/locus/stats` (XDG Base Directory spec: XDG_CACHE_HOME counts only when absolute); on
 *   Windows `%LOCALAPPDATA%\locus\cache\stats`. Files are keyed by model fingerprint, corpus hash and
 *   settings (statsCache.ts), so workspaces and models never mix.
 * - Read only, after the user cache: `stats/` inside the model's folder (the embedded model ships its
 *   statistics there, built by scripts/make-default-stats.js) and `.locus/stats` in the working
 *   folder, the per-workspace cache that was the default before the user-level one: statistics a user
 *   already computed there are still found, new ones go to the user cache.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LoadedModel } from '../../model/model';

/** The per-workspace cache folder that was the default before the user-level cache. */
export const WORKSPACE_STATS_CACHE = path.join('.locus', 'stats');

/** The folder inside a model's folder that may hold its precomputed statistics (cache layout). */
export const MODEL_STATS_FOLDER = 'stats';

/** The user-level statistics cache for this environment (see above). */
export function userStatsCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = os.homedir()): string {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'locus', 'stats');
  const local = env['LOCALAPPDATA'];
  if (platform === 'win32' && local && path.win32.isAbsolute(local)) return path.win32.join(local, 'locus', 'cache', 'stats');
  return path.join(home, '.cache', 'locus', 'stats');
}

/** The statistics cache to write to: the given folder (a flag or setting, blank = none), else the user cache. */
export function resolveStatsCacheDir(given: string | undefined): string {
  return given !== undefined && given.trim() !== '' ? given : userStatsCacheDir();
}

const sameFolder = (a: string, b: string): boolean => {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
};

/** The existing read-only folders searched after `cacheDir` (see above), never `cacheDir` itself. */
export function readOnlyStatsDirs(model: LoadedModel, cacheDir: string): string[] {
  const dirs = [path.join(model.manifest.path, MODEL_STATS_FOLDER), path.resolve(WORKSPACE_STATS_CACHE)];
  return dirs.filter((d) => fs.existsSync(d) && !sameFolder(d, cacheDir));
}
