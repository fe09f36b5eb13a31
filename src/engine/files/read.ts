/**
 * Reading the user's files with one clear line for every way it can fail. Node's own messages
 * ("EACCES: permission denied, open …", "ELOOP …") become sentences that name the file and the fix;
 * a UTF-8 byte-order mark (Windows editors write one) is dropped instead of failing JSON.parse.
 */
import * as fs from 'node:fs';
import { LocusError, oneLine } from '../errors';

/** A sentence for a file-system error on `file` (`what` names it for the user, e.g. "hparams file"). */
export function fsErrorMessage(e: unknown, file: string, what: string): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return `${what} ${file} does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `${what} ${file}: permission denied`;
    case 'ELOOP':
      return `${what} ${file}: a symbolic link loop (the link points, through other links, back at itself)`;
    case 'ENOTDIR':
      return `${what} ${file}: a part of the path is a file, not a folder`;
    case 'EISDIR':
      return `${what} ${file} is a folder, expected a file`;
    case 'EROFS':
      return `${what} ${file}: the file system is read-only`;
    case 'ENOSPC':
      return `${what} ${file}: no space left on the device`;
    case 'EMFILE':
    case 'ENFILE':
      return `${what} ${file}: too many open files`;
    case 'ENAMETOOLONG':
      return `${what} ${file}: the path is too long`;
    default:
      return `${what} ${file}: ${((e as Error | undefined)?.message ?? String(e)).split('\n')[0]}`;
  }
}

/** A LocusError for a file-system error (not-found for ENOENT, io otherwise). */
export function fsError(e: unknown, file: string, what: string): LocusError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return new LocusError(code === 'ENOENT' ? 'not-found' : 'io', fsErrorMessage(e, file, what));
}

/** Drops a leading UTF-8 byte-order mark. */
export const stripBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/** Reads a UTF-8 text file (BOM dropped); every failure is a LocusError naming `what` and the file. */
export function readTextFile(file: string, what: string): string {
  try {
    return stripBom(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw fsError(e, file, what);
  }
}

/** Reads and parses a JSON file (BOM dropped); a syntax error names the file and JSON's own first line. */
export function readJsonFile(file: string, what: string): unknown {
  const text = readTextFile(file, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    // V8 quotes the text around the error, newlines included: fold them so the message stays one line.
    throw new LocusError('bad-config', `${what} ${file} is not valid JSON (${oneLine((e as Error).message)})`);
  }
}

/** Reads a JSON file that must hold an object (not an array, string or null). */
export function readJsonObject(file: string, what: string): Record<string, unknown> {
  const v = readJsonFile(file, what);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new LocusError('bad-config', `${what} ${file} must hold a JSON object ({ … }), not ${Array.isArray(v) ? 'an array' : v === null ? 'null' : `a ${typeof v}`}`);
  }
  return v as Record<string, unknown>;
}

/** Whether anything is at `p` — a file, a folder, even a dangling or looping link (reading it then says why it fails). */
export function entryExists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Whether `p` is a folder (any error reads as no: reading it as a file then says why). */
export function isFolder(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
