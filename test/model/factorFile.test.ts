import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { choleskyFactor, choleskyFactorShared } from '../../src/engine/methods/linalg';
import { attachFactorFile, readFactorFile, writeFactorFile } from '../../src/engine/methods/stats/factorFile';
import { tempDir } from '../helpers/paths';

const dir = tempDir('locus-factor-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A random SPD matrix A Aᵀ + n I (xorshift, fixed seed). */
function spd(n: number, seed: number): Float64Array {
  let s = seed;
  const r = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
  const A = Float64Array.from({ length: n * n }, r);
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let x = i === j ? n : 0;
    for (let k = 0; k < n; k++) x += A[i * n + k] * A[j * n + k];
    C[i * n + j] = x;
  }
  return C;
}

test('a stored Cholesky factor reads back bit for bit, and only for the C it names', () => {
  const n = 37;
  const L = choleskyFactor(spd(n, 7), n);
  const file = path.join(dir, 'a.cholesky.safetensors');
  writeFactorFile(file, L, n, 'sha-of-c');
  assert.deepEqual(readFactorFile(file, n, 'sha-of-c'), L);
  assert.equal(readFactorFile(file, n, 'another-c'), undefined, 'another C');
  assert.equal(readFactorFile(file, n + 1, 'sha-of-c'), undefined, 'another size');
  assert.equal(readFactorFile(path.join(dir, 'missing'), n, 'sha-of-c'), undefined, 'no file');
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 3] ^= 1; // one flipped bit in the data
  fs.writeFileSync(path.join(dir, 'b.cholesky.safetensors'), bytes);
  assert.equal(readFactorFile(path.join(dir, 'b.cholesky.safetensors'), n, 'sha-of-c'), undefined, 'corrupt data');
  fs.writeFileSync(path.join(dir, 'c.cholesky.safetensors'), bytes.subarray(0, bytes.length - 8));
  assert.equal(readFactorFile(path.join(dir, 'c.cholesky.safetensors'), n, 'sha-of-c'), undefined, 'truncated');
});

test('choleskyFactorShared writes the factor once and a fresh C array with the same statistics reads it instead of factoring', () => {
  const n = 40;
  const file = path.join(dir, 'shared.cholesky.safetensors');
  const first = spd(n, 11);
  attachFactorFile(first, n, file, 'sha-c', 1);
  const L = choleskyFactorShared(first, n);
  assert.deepEqual(L, choleskyFactor(spd(n, 11), n));
  assert.ok(fs.existsSync(file), 'written after factoring');
  // A planted factor shows that the second array's factor comes from the file, not from factoring.
  const planted = Float64Array.from(L, (x, i) => (i % (n + 1) === 0 ? x * 2 : x));
  writeFactorFile(file, planted, n, 'sha-c');
  const second = spd(n, 11);
  attachFactorFile(second, n, file, 'sha-c', 1);
  assert.deepEqual(choleskyFactorShared(second, n), planted);
  // Below the size threshold nothing is attached: factored in memory, no file read.
  const small = spd(n, 11);
  attachFactorFile(small, n, file, 'sha-c');
  assert.deepEqual(choleskyFactorShared(small, n), L);
});
