/**
 * Checks on a place Locus is about to write, made before any computation starts, so a bad target
 * costs the user a second, not a finished edit or study. Invariant every writer keeps: nothing is ever
 * written inside a loaded model's folder (real paths compared, so a symlink or `..` does not get round it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../errors';
import { fsErrorMessage } from './read';

/** Pseudo file systems where a write never means what the user wants (and /proc can block forever). */
const SPECIAL_ROOTS = ['/proc', '/sys', '/dev'];

/**
 * The real path of `p` even when its last parts do not exist yet: the real path of the nearest existing
 * ancestor joined with the rest. Symlink loops and unreadable parents are LocusErrors naming `what`.
 */
export function realTarget(p: string, what: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new LocusError('io', fsErrorMessage(e, abs, what));
      const up = path.dirname(cur);
      if (up === cur) return abs;
      rest.push(path.basename(cur));
      cur = up;
    }
  }
}

/** Whether the (resolved) path `child` is `parent` or lies under it. */
export const isInside = (child: string, parent: string): boolean => child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

/** Refuses `target` when it is the model's folder or inside it (`flag` names the option for the message). */
export function assertOutsideModel(target: string, modelDir: string | undefined, flag: string): void {
  if (modelDir === undefined) return;
  const t = realTarget(target, flag);
  const m = realTarget(modelDir, 'model folder');
  if (isInside(t, m)) throw new LocusError('bad-input', `${flag} ${target} is inside the model folder ${m}: Locus never writes there; choose a path outside it`);
}

function refuseSpecial(real: string, target: string, flag: string): void {
  for (const root of SPECIAL_ROOTS) {
    if (isInside(real, root)) throw new LocusError('bad-input', `${flag} ${target} is under ${root}, a system folder: choose a normal folder`);
  }
}

/** The absolute target after the checks every writer shares: not a system folder, not in the model's folder. */
function placeTarget(target: string, flag: string, modelDir: string | undefined): string {
  const abs = path.resolve(target);
  refuseSpecial(realTarget(abs, flag), target, flag);
  assertOutsideModel(abs, modelDir, flag);
  return abs;
}

/** The nearest existing ancestor of `abs` must be a writable folder (not a file). */
function assertCreatable(abs: string, target: string, flag: string): void {
  let cur = path.dirname(abs);
  while (!fs.existsSync(cur)) {
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(cur);
  } catch (e) {
    throw new LocusError('io', fsErrorMessage(e, target, flag));
  }
  if (!st.isDirectory()) throw new LocusError('bad-input', `${flag} ${target}: ${cur} is a file, so nothing can be created under it`);
  try {
    fs.accessSync(cur, fs.constants.W_OK);
  } catch {
    throw new LocusError('io', `${flag} ${target}: cannot create it, ${cur} is not writable (permission denied)`);
  }
}

export interface DirTargetOptions {
  /** A folder that exists must be empty (a model export). */
  readonly mustBeEmpty?: boolean;
  /** The loaded model's folder: the target may not be in it. */
  readonly modelDir?: string;
}

/** Checks a folder Locus will create or write into (`--save`, `--out`, `--cache`). Returns its absolute path. */
export function checkDirTarget(target: string, flag: string, opts: DirTargetOptions = {}): string {
  const abs = placeTarget(target, flag, opts.modelDir);
  if (fs.existsSync(abs)) {
    const st = fs.statSync(abs);
    if (!st.isDirectory()) throw new LocusError('bad-input', `${flag} ${target} is a file, expected a folder`);
    try {
      fs.accessSync(abs, fs.constants.W_OK | fs.constants.X_OK);
    } catch {
      throw new LocusError('io', `${flag} ${target}: the folder is not writable (permission denied)`);
    }
    if (opts.mustBeEmpty && fs.readdirSync(abs).length > 0) throw new LocusError('bad-input', `${flag} ${target} is not empty: choose a new or empty folder`);
  } else {
    assertCreatable(abs, target, flag);
  }
  return abs;
}

/** Checks a file Locus will create or overwrite (`--html`, a run's JSON). Returns its absolute path. */
export function checkFileTarget(target: string, flag: string, opts: { readonly modelDir?: string } = {}): string {
  const abs = placeTarget(target, flag, opts.modelDir);
  if (fs.existsSync(abs)) {
    const st = fs.statSync(abs);
    if (st.isDirectory()) throw new LocusError('bad-input', `${flag} ${target} is a folder, expected a file name`);
    try {
      fs.accessSync(abs, fs.constants.W_OK);
    } catch {
      throw new LocusError('io', `${flag} ${target}: the file is not writable (permission denied)`);
    }
  } else {
    assertCreatable(abs, target, flag);
  }
  return abs;
}
