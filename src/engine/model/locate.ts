import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../errors';
import { fsError } from '../files/read';
import { hfHubCacheDir, isRepoId, repoFolder, resolveCachedModel } from './hfCache';

/** Where the embedded default model lives relative to the package root. */
export const DEFAULT_MODEL_SUBDIR = path.join('assets', 'default-model');

/** Finds the embedded default model: $LOCUS_DEFAULT_MODEL, else assets/default-model above this file. */
export function defaultModelDir(): string | undefined {
  const fromEnv = process.env.LOCUS_DEFAULT_MODEL;
  if (fromEnv) return fromEnv;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, DEFAULT_MODEL_SUBDIR);
    if (fs.existsSync(path.join(candidate, 'config.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Resolves `--model` to a folder: "default" (or empty) means the embedded model, falling back to
 * $LOCUS_MODEL while no embedded model ships; an existing path is that folder; `org/name` that is no
 * path is that model's snapshot in the Hugging Face cache (hfCache.ts; never downloaded).
 */
export function resolveModelFolder(spec: string | undefined): string {
  if (!spec || spec === 'default') {
    const dir = defaultModelDir() ?? process.env.LOCUS_MODEL;
    if (!dir) {
      throw new LocusError(
        'not-found',
        'no embedded default model is installed in this build and LOCUS_MODEL is not set: pass --model PATH (a Hugging Face folder) or set LOCUS_MODEL=PATH',
      );
    }
    return resolveModelFolder(dir);
  }
  const folder = path.resolve(spec);
  if (isRepoId(spec) && !pathEntryExists(folder)) {
    const cacheDir = hfHubCacheDir();
    // A bare name ("gpt2") goes to the cache only when the cache has it: otherwise it is a missing folder.
    if (spec.includes('/') || fs.existsSync(repoFolder(spec, cacheDir))) return resolveCachedModel(spec, cacheDir);
  }
  // stat, not existsSync: a link loop or a folder above it that cannot be entered says so
  // instead of "does not exist".
  let st: fs.Stats;
  try {
    st = fs.statSync(folder);
  } catch (e) {
    throw fsError(e, folder, 'model folder');
  }
  if (!st.isDirectory()) {
    throw new LocusError('not-found', `${folder} is a file; --model takes a Hugging Face model folder (config.json, model.safetensors, tokenizer)`);
  }
  try {
    // Listing needs read, opening its files needs execute: without them every file would read as absent.
    fs.accessSync(folder, fs.constants.R_OK | fs.constants.X_OK);
  } catch (e) {
    throw fsError(e, folder, 'model folder');
  }
  return folder;
}

/**
 * Whether anything (a file, a folder, even a dangling or looping link) is at `p`; a path that cannot be
 * looked at (permissions, a file in the middle) counts as there, so its own error is the one reported.
 */
function pathEntryExists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
