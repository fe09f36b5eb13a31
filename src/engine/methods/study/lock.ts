/**
 * An exclusive lock on a study folder while one process writes it: `DIR/.lock`, created with O_EXCL,
 * holding `{ pid, host, started, token }`. Two writers on one folder would each resume from the same
 * results.jsonl and append every row twice (issue 15): the second one is refused with the holder's pid.
 * A lock whose process is gone (not alive on this host) is stale and taken over. Released on return,
 * error and normal exit; a process killed by a signal leaves a stale lock, which the next run takes over.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { fsErrorMessage } from '../../files/read';

export const LOCK = '.lock';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  readonly token: string;
}

export interface FolderLock {
  readonly dir: string;
  readonly holder: LockHolder;
  /** The stale lock taken over, if there was one (its process had ended). */
  readonly tookOver?: LockHolder;
  /** Removes the lock (only while it is still ours); idempotent. */
  release(): void;
}

/** Lock files this process holds: a lock naming our own pid that is not here is a leftover of an earlier process with the same pid. */
const held = new Set<string>();

function isHolder(v: unknown): v is LockHolder {
  const o = v as Partial<LockHolder> | null;
  return typeof o === 'object' && o !== null && Number.isSafeInteger(o.pid) && typeof o.host === 'string' && typeof o.started === 'string';
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return isHolder(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the holder's process has ended. Another host's process cannot be checked: it counts as alive. */
function isStale(h: LockHolder, file: string): boolean {
  if (h.host !== os.hostname()) return false;
  if (h.pid === process.pid) return !held.has(file);
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A lock file without readable content: being written this instant, or left empty by a crash long ago. */
const UNREADABLE_GRACE_MS = 5000;

function busy(dir: string, h: LockHolder | undefined, what: string): LocusError {
  const lockFile = path.join(dir, LOCK);
  if (!h) return new LocusError('busy', `${what} ${dir} is being locked by another process right now (${lockFile}); wait for it, or delete ${lockFile} if no Locus process is writing there`);
  const where = h.host === os.hostname() ? `process ${h.pid}` : `process ${h.pid} on host ${h.host}`;
  const fix = h.host === os.hostname() ? 'wait for it or stop it' : `wait for it, or delete ${lockFile} if that process is gone`;
  return new LocusError('busy', `${what} ${dir} is being written by ${where} (started ${h.started}); ${fix}`);
}

function tryCreate(file: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new LocusError('io', fsErrorMessage(e, file, 'lock file'));
  }
  try {
    fs.writeSync(fd, JSON.stringify(holder) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Moves a stale lock aside, checking that what was moved is the lock judged stale (another process
 * may have taken it over in between: then its fresh lock is put back and we are busy).
 */
function removeStale(file: string, stale: LockHolder | undefined): boolean {
  const aside = `${file}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true; // someone else removed it: race for a fresh one
    throw new LocusError('io', fsErrorMessage(e, file, 'lock file'));
  }
  const moved = readHolder(aside);
  const same = stale === undefined ? moved === undefined : moved?.pid === stale.pid && moved.started === stale.started && moved.token === stale.token;
  if (!same) {
    try {
      fs.linkSync(aside, file); // put the live lock back unless a newer one is already there
    } catch {
      // a newer lock exists: that one stands
    }
    fs.rmSync(aside, { force: true });
    return false;
  }
  fs.rmSync(aside, { force: true });
  return true;
}

/**
 * Takes the lock on `dir` (created if missing; a folder this call created and leaves empty is removed
 * again on release). `what` names the folder in messages ("--out", "study folder").
 */
export function lockFolder(dir: string, what = 'study folder'): FolderLock {
  const abs = path.resolve(dir);
  const created = !fs.existsSync(abs);
  try {
    fs.mkdirSync(abs, { recursive: true });
  } catch (e) {
    throw new LocusError('io', fsErrorMessage(e, abs, what));
  }
  const file = path.join(abs, LOCK);
  const holder: LockHolder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), token: crypto.randomBytes(8).toString('hex') };
  let tookOver: LockHolder | undefined;
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(file, holder)) break;
    const h = readHolder(file);
    let stale: boolean;
    if (h) stale = isStale(h, file);
    else {
      let age = 0;
      try {
        age = Date.now() - fs.statSync(file).mtimeMs;
      } catch {
        continue; // gone already: try again
      }
      stale = age > UNREADABLE_GRACE_MS;
    }
    if (!stale || attempt >= 3 || !removeStale(file, h)) throw busy(abs, h, what);
    if (h) tookOver = h;
  }
  held.add(file);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    held.delete(file);
    process.removeListener('exit', release);
    // Only our own lock: never one that another process took over (e.g. after ours was deleted by hand).
    if (readHolder(file)?.token === holder.token) fs.rmSync(file, { force: true });
    if (created) {
      try {
        fs.rmdirSync(abs); // only succeeds when empty: a run refused before writing anything leaves no folder
      } catch {
        // not empty: the study's files stay
      }
    }
  };
  process.on('exit', release);
  return { dir: abs, holder, ...(tookOver ? { tookOver } : {}), release };
}
