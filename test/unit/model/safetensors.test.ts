import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { isLocusError } from '../../../src/engine/errors';
import type { LocusErrorCode } from '../../../src/engine/errors';
import { openSafetensors, openSafetensorsFile, writeSafetensors } from '../../../src/engine/model/safetensors';
import { tensor } from '../../../src/engine/tensor/tensor';
import { tempDir } from '../../helpers/paths';

const root = tempDir('locus-safetensors-');
after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
/** A fresh empty folder under `root`. */
const folder = (): string => fs.mkdtempSync(path.join(root, `f${counter++}-`));

/** Writes a safetensors file by hand: `header` as JSON (unpadded, any length), then `data`. */
function rawFile(file: string, header: unknown, data: Uint8Array = new Uint8Array(0)): string {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([prefix, json, data]));
  return file;
}

const u16le = (values: number[]): Uint8Array => {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16LE(v, i * 2));
  return b;
};

/** Asserts `fn` throws a LocusError with `code` whose message contains every one of `parts`. */
function assertLocus(fn: () => unknown, code: LocusErrorCode, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isLocusError(e), `expected a LocusError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `message lacks ${JSON.stringify(p)}: ${e.message}`);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    return true;
  });
}

describe('writeSafetensors → openSafetensors', () => {
  it('round-trips names, shapes, values and metadata with an 8-byte-aligned header', () => {
    const dir = folder();
    const a = tensor([2, 3], Float32Array.from([1, -2, 3.5, 1e-30, -0, 65504.25]));
    const scalar = tensor([], Float32Array.from([Math.PI]));
    const empty = tensor([0, 4]);
    writeSafetensors(path.join(dir, 'model.safetensors'), [
      { name: 'a', tensor: a },
      { name: 'constructor', tensor: scalar },
      { name: 'empty', tensor: empty },
    ], { format: 'pt' });
    assert.deepEqual(fs.readdirSync(dir), ['model.safetensors'], 'no temp file left behind');

    const bytes = fs.readFileSync(path.join(dir, 'model.safetensors'));
    const headerLen = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + headerLen) % 8, 0);
    assert.equal(bytes.length, 8 + headerLen + 7 * 4);

    const store = openSafetensors(dir);
    try {
      assert.deepEqual(store.names(), ['a', 'constructor', 'empty']);
      assert.equal(store.source, 'model.safetensors');
      assert.deepEqual(store.metadata, { format: 'pt' });
      assert.equal(store.totalBytes, 7 * 4);
      assert.deepEqual(store.shape('a'), [2, 3]);
      assert.equal(store.dtype('a'), 'F32');
      assert.deepEqual(store.read('a'), a);
      assert.deepEqual(store.read('constructor').data, Float32Array.from([Math.PI]));
      assert.deepEqual(store.read('empty'), { shape: [0, 4], data: new Float32Array(0) });
      assert.ok(Object.is(store.read('a').data[4], -0));
      assertLocus(() => store.read('nope'), 'missing-tensor', 'nope', 'model.safetensors');
    } finally {
      store.close();
    }
    assert.throws(() => store.read('a'), /closed/);
  });

  it('overwrites an existing file atomically', () => {
    const file = path.join(folder(), 'w.safetensors');
    writeSafetensors(file, [{ name: 'x', tensor: tensor([1], Float32Array.from([1])) }]);
    writeSafetensors(file, [{ name: 'y', tensor: tensor([2], Float32Array.from([2, 3])) }]);
    const store = openSafetensorsFile(file);
    assert.deepEqual(store.names(), ['y']);
    assert.deepEqual([...store.read('y').data], [2, 3]);
    store.close();
  });
});

describe('dtype conversion', () => {
  it('reads F16 exactly: normals, subnormals, ±0, ±Inf, NaN, at an unaligned offset', () => {
    const halves = [0x3c00, 0xc000, 0x3555, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x8000, 0x7c00, 0xfc00, 0x7e00];
    const expected = [1, -2, 0.333251953125, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, -0, Infinity, -Infinity, NaN];
    const dir = folder();
    // One leading byte pushes both tensors off 2- and 4-byte alignment in the file.
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(1.5, 0);
    f32.writeFloatLE(-7.25, 4);
    const data = Buffer.concat([Buffer.from([0xaa]), u16le(halves), f32]);
    rawFile(path.join(dir, 'model.safetensors'), {
      pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
      h: { dtype: 'F16', shape: [halves.length], data_offsets: [1, 1 + 2 * halves.length] },
      f: { dtype: 'F32', shape: [2], data_offsets: [1 + 2 * halves.length, 9 + 2 * halves.length] },
    }, data);
    const store = openSafetensors(dir);
    const got = store.read('h').data;
    expected.forEach((v, i) => assert.ok(Object.is(got[i], v), `half 0x${halves[i].toString(16)}: ${got[i]} !== ${v}`));
    assert.deepEqual([...store.read('f').data], [1.5, -7.25]);
    assert.equal(store.dtype('pad'), 'U8');
    assertLocus(() => store.read('pad'), 'bad-weights', 'pad', 'U8', 'model.safetensors');
    store.close();
  });

  it('reads BF16 as the top half of float32', () => {
    const bf = [0x3f80, 0xc040, 0x4049, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x8000];
    const expected = [1, -3, 3.140625, 2 ** -133, Infinity, -Infinity, NaN, -0];
    const file = rawFile(path.join(folder(), 'x.safetensors'), { b: { dtype: 'BF16', shape: [2, 4], data_offsets: [0, 16] } }, u16le(bf));
    const store = openSafetensorsFile(file);
    const t = store.read('b');
    assert.deepEqual(t.shape, [2, 4]);
    expected.forEach((v, i) => assert.ok(Object.is(t.data[i], v), `bf16 0x${bf[i].toString(16)}: ${t.data[i]} !== ${v}`));
    store.close();
  });
});

describe('validation', () => {
  const f32 = (n: number): Uint8Array => new Uint8Array(n * 4);

  it('rejects a file shorter than the 8-byte length', () => {
    const file = path.join(folder(), 'model.safetensors');
    fs.writeFileSync(file, Buffer.from([1, 2, 3, 4, 5]));
    assertLocus(() => openSafetensorsFile(file), 'bad-weights', file, 'truncated');
  });

  it('rejects a header length past the end of the file', () => {
    const file = path.join(folder(), 'model.safetensors');
    const b = Buffer.alloc(20);
    b.writeBigUInt64LE(1000n);
    fs.writeFileSync(file, b);
    assertLocus(() => openSafetensorsFile(file), 'bad-weights', file, '1000-byte header', 'truncated');
  });

  it('rejects a header that is not JSON', () => {
    const file = path.join(folder(), 'model.safetensors');
    const b = Buffer.alloc(12);
    b.writeBigUInt64LE(4n);
    b.write('{no}', 8);
    fs.writeFileSync(file, b);
    assertLocus(() => openSafetensorsFile(file), 'bad-weights', file, 'not valid JSON');
  });

  it('rejects offsets past the end of the data section', () => {
    const file = rawFile(path.join(folder(), 'model.safetensors'), { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(3));
    assertLocus(() => openSafetensorsFile(file), 'bad-weights', file, 'tensor w', 'offsets past the end of the file', 'truncated or corrupt');
  });

  it('rejects a byte length that does not match dtype × shape', () => {
    const file = rawFile(path.join(folder(), 'model.safetensors'), { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, f32(4));
    assertLocus(() => openSafetensorsFile(file), 'bad-weights', file, 'tensor w', '12 bytes', 'needs 16');
  });

  it('rejects an unknown dtype', () => {
    const file = rawFile(path.join(folder(), 'model.safetensors'), { w: { dtype: 'F13', shape: [1], data_offsets: [0, 4] } }, f32(1));
    assertLocus(() => openSafetensorsFile(file), 'bad-weights', file, 'tensor w', 'unknown dtype "F13"');
  });

  it('rejects negative or malformed offsets, and overlapping tensors', () => {
    const neg = rawFile(path.join(folder(), 'a.safetensors'), { w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, f32(1));
    assertLocus(() => openSafetensorsFile(neg), 'bad-weights', neg, 'tensor w', 'data_offsets');
    const one = rawFile(path.join(folder(), 'b.safetensors'), { w: { dtype: 'F32', shape: [1], data_offsets: [4] } }, f32(1));
    assertLocus(() => openSafetensorsFile(one), 'bad-weights', one, 'tensor w', 'data_offsets');
    const overlap = rawFile(path.join(folder(), 'c.safetensors'), {
      u: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      v: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }, f32(3));
    assertLocus(() => openSafetensorsFile(overlap), 'bad-weights', overlap, 'u and v overlap');
  });

  it('refuses a pickle-only folder and says how to convert it', () => {
    const dir = folder();
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'PK');
    assertLocus(() => openSafetensors(dir), 'unsupported-format', dir, 'pytorch_model.bin', 'execute', 'safe_serialization=True');
  });

  it('reports an empty folder and a missing folder as not-found', () => {
    const dir = folder();
    assertLocus(() => openSafetensors(dir), 'not-found', dir, 'model.safetensors');
    assertLocus(() => openSafetensors(path.join(dir, 'absent')), 'not-found', 'absent');
  });
});

describe('sharded checkpoints', () => {
  const index = (dir: string, map: Record<string, string>): void =>
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }));

  it('reads each tensor from the shard the weight_map names', () => {
    const dir = folder();
    writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), [{ name: 'a', tensor: tensor([2], Float32Array.from([1, 2])) }]);
    writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), [
      { name: 'b', tensor: tensor([1, 3], Float32Array.from([3, 4, 5])) },
      { name: 'c', tensor: tensor([1], Float32Array.from([6])) },
    ]);
    index(dir, { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' });
    const store = openSafetensors(dir);
    assert.equal(store.source, 'model.safetensors.index.json');
    assert.deepEqual(store.names().sort(), ['a', 'b', 'c']);
    assert.equal(store.totalBytes, 24);
    assert.deepEqual(store.read('b'), tensor([1, 3], Float32Array.from([3, 4, 5])));
    assert.deepEqual([...store.read('a').data], [1, 2]);
    store.close();
  });

  it('names a missing shard, a tensor absent from its shard, and a shard path leaving the folder', () => {
    const dir = folder();
    writeSafetensors(path.join(dir, 's1.safetensors'), [{ name: 'a', tensor: tensor([1]) }]);
    index(dir, { a: 's1.safetensors', b: 's2.safetensors' });
    assertLocus(() => openSafetensors(dir), 'bad-weights', 'model.safetensors.index.json', 's2.safetensors', 'b');
    index(dir, { a: 's1.safetensors', z: 's1.safetensors' });
    assertLocus(() => openSafetensors(dir), 'bad-weights', 'z', 's1.safetensors', 'no such tensor');
    index(dir, { a: '../s1.safetensors' });
    assertLocus(() => openSafetensors(dir), 'bad-weights', '../s1.safetensors', 'not a file name');
  });
});
