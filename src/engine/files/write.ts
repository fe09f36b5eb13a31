/**
 * Writing a whole file so that a crash (or kill -9) leaves either the old file or the new one, never a
 * half: the text goes to a hidden temp file beside the target (same file system, so rename is atomic),
 * is fsync'ed, then renamed over the target. The temp file is removed when anything fails.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsError } from './read';

/** Writes `text` to `file` atomically; a failure is a LocusError naming `what` and the file. */
export function writeTextAtomic(file: string, text: string, what = 'file'): void {
  writeAtomic(file, text, what, false);
}

/** Writes `bytes` to `file` atomically, creating its folder first; a failure is a LocusError naming `what` and the file. */
export function writeBytesAtomic(file: string, bytes: Uint8Array, what = 'file'): void {
  writeAtomic(file, bytes, what, true);
}

function writeAtomic(file: string, data: string | Uint8Array, what: string, mkdir: boolean): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    if (mkdir) fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(tmp, 'w');
    try {
      if (typeof data === 'string') fs.writeFileSync(fd, data, 'utf8');
      else fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw fsError(e, file, what);
  }
}

/** `writeTextAtomic` of pretty-printed JSON with a final newline. */
export const writeJsonAtomic = (file: string, value: unknown, what = 'file'): void => writeTextAtomic(file, JSON.stringify(value, null, 2) + '\n', what);
