import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { LocusError } from '../../../src/engine/errors';
import { NpzArchive } from '../../../src/engine/methods/stats/npz';
import { findPublishedStats, keyModuleName, readPublishedStats } from '../../../src/engine/methods/stats/publishedStats';
import { parseConfig } from '../../../src/engine/model/config';
import type { ModelConfig } from '../../../src/engine/model/config';
import { golden, tempDir } from '../../helpers/paths';

/**
 * The .npz / .npy reader (stats/npz.ts, npy.ts) and ROME's statistics files (publishedStats.ts): the
 * golden files written by ROME's own `layer_stats` (golden/README.md "rome_stats"), the same arrays
 * re-packed as np.savez_compressed and zip64 would write them, and every kind of bad file.
 */
const STATS = golden('gpt2-facts-trained', 'rome_stats');
const LAYER1 = path.join(STATS, 'wikipedia_stats', 'transformer.h.1.mlp.c_proj_float32_mom2_100000.npz');

/** A golden folder's config, deepened to 48 layers so every layer number below exists. */
function deep(folder: string): ModelConfig {
  const raw = JSON.parse(fs.readFileSync(golden(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  return parseConfig({ ...raw, ['n_layer' in raw ? 'n_layer' : 'num_hidden_layers']: 48 }, folder);
}

/** A .npy: version 1.0 header padded to 64 bytes as NumPy pads it, then `data`. */
function npy(descr: string, shape: readonly number[], data: Buffer, fortran = false): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  header = header.padEnd(Math.ceil((header.length + 11) / 64) * 64 - 11) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(header.length);
  return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), len, Buffer.from(header, 'latin1'), data]);
}

const f32 = (xs: ArrayLike<number>): Buffer => Buffer.from(Float32Array.from(xs).buffer);
const i64 = (x: number): Buffer => Buffer.from(BigInt64Array.from([BigInt(x)]).buffer);

/** A zip of `files` (PKWARE APPNOTE): stored or deflated; with zip64, every size and offset in zip64 extra fields. */
function zip(files: Record<string, Buffer>, opts: { deflate?: boolean; zip64?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const body = opts.deflate ? zlib.deflateRawSync(data) : data;
    const nameBuf = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(opts.deflate ? 8 : 0, 8);
    local.writeUInt32LE(zlib.crc32(data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    parts.push(local, nameBuf, body);
    const extra = Buffer.alloc(opts.zip64 ? 28 : 0);
    if (opts.zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(data.length), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(opts.deflate ? 8 : 0, 10);
    c.writeUInt32LE(zlib.crc32(data), 16);
    c.writeUInt32LE(opts.zip64 ? 0xffffffff : body.length, 20);
    c.writeUInt32LE(opts.zip64 ? 0xffffffff : data.length, 24);
    c.writeUInt16LE(nameBuf.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(opts.zip64 ? 0xffffffff : offset, 42);
    central.push(c, nameBuf, extra);
    offset += 30 + nameBuf.length + body.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(Object.keys(files).length, 8);
  eocd.writeUInt16LE(Object.keys(files).length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, eocd]);
}

/** A ROME-format statistics file for a d×d `sum` over `count` tokens. */
function romeStats(sum: ArrayLike<number>, d: number, count: number, opts: { deflate?: boolean; zip64?: boolean } = {}): Buffer {
  return zip({ 'mom2.mom2.npy': npy('<f4', [d, d], f32(sum)), 'mom2.count.npy': npy('<i8', [], i64(count)), 'sample_size.npy': npy('<i8', [], i64(100000)) }, opts);
}

/** Asserts that `fn` throws one LocusError line matching `pattern`. */
function throwsOneLine(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LocusError, `a LocusError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    return true;
  });
}

describe('ROME statistics files (.npz)', () => {
  let tmp: string;
  before(() => {
    tmp = tempDir('locus-npz-');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, bytes: Buffer): string => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, bytes);
    return f;
  };

  test("ROME's own file: keys, count, sample size, and C equal to the mom2_moment the golden edit records, bit for bit", () => {
    const npz = NpzArchive.open(LAYER1);
    try {
      assert.deepEqual(npz.keys().sort(), ['mom2.constructor', 'mom2.count', 'mom2.mom2', 'sample_size']);
    } finally {
      npz.close();
    }
    const m = readPublishedStats(LAYER1, 256);
    assert.equal(m.count, 40413);
    assert.equal(m.sampleSize, 100000);
    const ref = JSON.parse(fs.readFileSync(golden('gpt2-facts-trained', 'rome_eiffel.json'), 'utf8')) as { stats: { layers: Array<{ layer: number; count: number; mom2_moment: number[][] }> } };
    assert.equal(ref.stats.layers[0].layer, 1);
    assert.equal(ref.stats.layers[0].count, 40413);
    const want = ref.stats.layers[0].mom2_moment.flat();
    let differ = 0;
    want.forEach((w, i) => (m.mom2[i] !== Math.fround(w) ? differ++ : 0));
    assert.equal(differ, 0, 'every entry of C = mom2 / count equals the reference float32 value');
  });

  test('the same arrays deflated (np.savez_compressed) and with zip64 fields read the same', () => {
    const plain = readPublishedStats(LAYER1, 256);
    const npz = NpzArchive.open(LAYER1);
    const files = Object.fromEntries(npz.keys().map((k) => [`${k}.npy`, npz.read(k)]));
    npz.close();
    for (const opts of [{ deflate: true }, { zip64: true }, { deflate: true, zip64: true }]) {
      const f = write(`repacked-${JSON.stringify(opts).replace(/\W/g, '')}.npz`, zip(files, opts));
      const m = readPublishedStats(f, 256);
      assert.equal(m.count, plain.count);
      assert.deepEqual(m.mom2, plain.mom2, JSON.stringify(opts));
    }
  });

  test('C = sum / count in float32; a float64 sum and count are accepted', () => {
    const sum = [4, 2, 2, 6];
    assert.deepEqual([...readPublishedStats(write('small.npz', romeStats(sum, 2, 3)), 2).mom2], sum.map((x) => Math.fround(x / 3)));
    const f64 = zip({ 'mom2.mom2.npy': npy('<f8', [2, 2], Buffer.from(Float64Array.from(sum).buffer)), 'mom2.count.npy': npy('<f8', [], Buffer.from(Float64Array.from([4]).buffer)) });
    assert.deepEqual([...readPublishedStats(write('f64.npz', f64), 2).mom2], [1, 0.5, 0.5, 1.5]);
  });

  test('bad files are refused in one line naming what is wrong', () => {
    const good = romeStats([1, 0, 0, 1], 2, 5);
    throwsOneLine(() => readPublishedStats(write('shape.npz', good), 3), /shape \(2, 2\), this model's layer needs \(3, 3\)/);
    throwsOneLine(() => readPublishedStats(write('truncated.npz', good.subarray(0, good.length - 40)), 2), /not a readable \.npz.*truncated/);
    const mid = Buffer.concat([good.subarray(0, 100), good.subarray(140)]);
    throwsOneLine(() => readPublishedStats(write('cut.npz', mid), 2), /damaged|truncated|not a readable/);
    const flipped = Buffer.from(good);
    flipped[30 + 'mom2.mom2.npy'.length + 128 + 1] ^= 0xff; // a byte of the first value, after the 128-byte .npy header
    throwsOneLine(() => readPublishedStats(write('flipped.npz', flipped), 2), /CRC-32|damaged/);
    const pickled = zip({ 'mom2.mom2.npy': npy('|O', [2, 2], Buffer.alloc(32)), 'mom2.count.npy': npy('<i8', [], i64(5)) });
    throwsOneLine(() => readPublishedStats(write('pickled.npz', pickled), 2), /pickled Python objects.*never unpickles/);
    throwsOneLine(() => readPublishedStats(write('nan.npz', romeStats([1, NaN, NaN, 1], 2, 5)), 2), /holds NaN at \[0, 1\]; statistics must be finite/);
    throwsOneLine(() => readPublishedStats(write('inf.npz', romeStats([Infinity, 0, 0, 1], 2, 5)), 2), /holds Infinity/);
    throwsOneLine(() => readPublishedStats(write('zero.npz', romeStats([1, 0, 0, 1], 2, 0)), 2), /mom2.count is 0/);
    throwsOneLine(() => readPublishedStats(write('neg.npz', romeStats([-1, 0, 0, 1], 2, 5)), 2), /negative diagonal/);
    const big = zip({ 'mom2.mom2.npy': npy('>f4', [2, 2], Buffer.alloc(16)), 'mom2.count.npy': npy('<i8', [], i64(5)) });
    throwsOneLine(() => readPublishedStats(write('big.npz', big), 2), /big-endian float32.*expected <f4 or <f8/);
    const fortran = zip({ 'mom2.mom2.npy': npy('<f4', [2, 2], f32([1, 0, 0, 1]), true), 'mom2.count.npy': npy('<i8', [], i64(5)) });
    throwsOneLine(() => readPublishedStats(write('fortran.npz', fortran), 2), /Fortran order/);
    const short = zip({ 'mom2.mom2.npy': npy('<f4', [2, 2], f32([1, 0, 0])), 'mom2.count.npy': npy('<i8', [], i64(5)) });
    throwsOneLine(() => readPublishedStats(write('short.npz', short), 2), /12 data bytes, its shape \(2, 2\) needs 16/);
    throwsOneLine(() => readPublishedStats(write('nocount.npz', zip({ 'mom2.mom2.npy': npy('<f4', [2, 2], f32([1, 0, 0, 1])) })), 2), /has no mom2.count: not a ROME\/MEMIT second-moment file/);
    throwsOneLine(() => readPublishedStats(write('text.npz', Buffer.from('not a zip at all')), 2), /not a readable \.npz/);
    throwsOneLine(() => readPublishedStats(path.join(tmp, 'absent.npz'), 2), /absent\.npz/);
  });

  test("ROME's module names per family, and which file a layer uses", () => {
    assert.equal(keyModuleName(deep('gpt2-tiny-trained'), 17), 'transformer.h.17.mlp.c_proj');
    assert.equal(keyModuleName(deep('gptj-tiny-random'), 5), 'transformer.h.5.mlp.fc_out');
    assert.equal(keyModuleName(deep('llama-tiny-random'), 3), 'model.layers.3.mlp.down_proj');
    assert.equal(keyModuleName(deep('neox-tiny-random'), 2), 'gpt_neox.layers.2.mlp.dense_4h_to_h');
    assert.equal(findPublishedStats(STATS, deep('gpt2-tiny-trained'), 1, 100000), LAYER1);
    assert.equal(findPublishedStats(STATS, deep('gpt2-tiny-trained'), 1, 5), LAYER1, 'any N when one file matches');
    assert.equal(findPublishedStats(path.join(STATS, 'wikipedia_stats'), deep('gpt2-tiny-trained'), 2, undefined), path.join(STATS, 'wikipedia_stats', 'transformer.h.2.mlp.c_proj_float32_mom2_100000.npz'), 'the wikipedia_stats folder itself');
    assert.equal(findPublishedStats(STATS, deep('gpt2-tiny-trained'), 11, 100000), undefined, 'no file for layer 11 (not layer 1 by prefix)');
    assert.equal(findPublishedStats(STATS, deep('gptj-tiny-random'), 1, 100000), undefined, "GPT-J's module name differs");
    const dir = path.join(tmp, 'several', 'wikipedia_stats');
    fs.mkdirSync(dir, { recursive: true });
    for (const n of [1000, 100000]) fs.writeFileSync(path.join(dir, `transformer.h.3.mlp.c_proj_float32_mom2_${n}.npz`), '');
    assert.equal(findPublishedStats(path.dirname(dir), deep('gpt2-tiny-trained'), 3, 1000), path.join(dir, 'transformer.h.3.mlp.c_proj_float32_mom2_1000.npz'), "the hparams' mom2_n_samples wins");
    throwsOneLine(() => findPublishedStats(path.dirname(dir), deep('gpt2-tiny-trained'), 3, 50), /2 statistics files for layer 3 .* none for mom2_n_samples 50/);
  });
});
