import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import { repoRoot, tempDir } from '../helpers/paths';

/**
 * The model fingerprint keys the statistics cache, studies and the extension's saved edits: it must not
 * depend on where the folder lies, and must change when weights change anywhere in the file — here only
 * the last layers' bytes (far past the first MiB, which is all the first version read).
 */
describe('model fingerprint', () => {
  const tmp = tempDir('locus-fingerprint-');
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const source = path.join(repoRoot, 'assets', 'default-model');
  const copy = (name: string): string => {
    const dir = path.join(tmp, name);
    fs.cpSync(source, dir, { recursive: true });
    return dir;
  };
  const fingerprintOf = async (dir: string): Promise<string> => {
    const model = await loadModel(dir, { threads: 1 });
    try {
      return model.manifest.fingerprint;
    } finally {
      await model.dispose();
    }
  };

  test('same bytes in another folder: same fingerprint; weights changed near the end: another', async () => {
    const original = await fingerprintOf(source);
    assert.match(original, /^[0-9a-f]{16}$/);
    assert.equal(await fingerprintOf(copy('same')), original);

    const changed = copy('changed');
    const file = path.join(changed, 'model.safetensors');
    const bytes = fs.readFileSync(file);
    // Nudge every float of the last 4 MiB by one ulp (last-layer weights; the header is untouched).
    for (let i = bytes.length - (4 << 20); i < bytes.length; i += 4) bytes[i] ^= 1;
    fs.writeFileSync(file, bytes);
    assert.notEqual(await fingerprintOf(changed), original);
  });
});
