import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Walks up from this compiled file to the folder holding package.json. */
function findRepoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

export const repoRoot = findRepoRoot();
/** `../shared` beside the checkout (CI places it there). LOCUS_SHARED overrides. */
export const sharedDir = process.env.LOCUS_SHARED ?? path.resolve(repoRoot, '..', 'shared');
export const goldenDir = path.join(sharedDir, 'golden');
export const golden = (model: string, file = ''): string => path.join(goldenDir, model, file);

/** A fresh temporary folder for a test; the caller removes it. */
export function tempDir(prefix = 'locus-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
