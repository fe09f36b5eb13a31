import * as assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { test } from 'node:test';
import { crc32, encodePng, linePlotsPng } from '../../bench/png';

/** The sequential benchmark's PNG writer (bench/png.ts) against the PNG spec's fixed values. */
test('crc32 matches the PNG spec (the IEND chunk CRC is ae426082) and the zlib check value of "123456789"', () => {
  assert.equal(crc32(Buffer.from('IEND', 'ascii')).toString(16), 'ae426082');
  assert.equal(crc32(Buffer.from('123456789', 'ascii')).toString(16), 'cbf43926');
});

test('a 2×1 RGB image round-trips: signature, IHDR, filter-0 rows inflated back to the pixels', () => {
  const png = encodePng(2, 1, Uint8Array.from([255, 0, 0, 0, 0, 255]));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.toString('ascii', 12, 16), 'IHDR');
  assert.equal(png.readUInt32BE(16), 2);
  assert.equal(png.readUInt32BE(20), 1);
  const idatLen = png.readUInt32BE(33);
  assert.equal(png.toString('ascii', 37, 41), 'IDAT');
  assert.deepEqual([...zlib.inflateSync(png.subarray(41, 41 + idatLen))], [0, 255, 0, 0, 0, 0, 255]);
  assert.equal(png.readUInt32BE(41 + idatLen), crc32(png.subarray(37, 41 + idatLen)));
});

test('a plot of two series is a PNG of the grid size (3 columns of 320, rows of 220, legend 30)', () => {
  const png = linePlotsPng([{ title: 'REWRITE', series: [{ name: 'rome', points: [[0, 1], [5, 0.5]] }, { name: 'memit', points: [[0, 1], [5, 0.8]] }] }]);
  assert.equal(png.readUInt32BE(16), 960);
  assert.equal(png.readUInt32BE(20), 250);
});
