import * as assert from 'node:assert/strict';
import { constants as bufferConstants } from 'node:buffer';
import { describe, test } from 'node:test';
import { LocusError } from '../../../src/engine/errors';
import { checkEditFitsJson, decodeEdit, encodedEditChars, encodeEdit } from '../../../src/engine/methods/edit/editFile';
import type { Edit } from '../../../src/engine/methods/edit/edits';
import type { LoadedModel } from '../../../src/engine/model/model';
import type { ParamName } from '../../../src/engine/model/names';

/**
 * `locus edit --json` carries the ΔW as base64 float32 in one JSON string, and V8 caps a string at
 * buffer.constants.MAX_STRING_LENGTH (2²⁹ − 24 characters on 64-bit Node 20). Paper-scale dense edits
 * are described by their lengths alone (a typed array's `length`, no values: nothing is allocated),
 * so the test is fast; the size check must run before any byte is encoded.
 */
const stubModel = { manifest: { name: 'stub', fingerprint: 'f' } } as unknown as LoadedModel;
/** A ΔW with the length of a big matrix and no values (encoding it would throw a TypeError, not a LocusError). */
const sized = (n: number): Float32Array => ({ length: n }) as unknown as Float32Array;
const denseEdit = (layers: number, rows: number, cols: number): Edit => ({
  method: 'memit',
  layers: Array.from({ length: layers }, (_, l) => l),
  deltas: Array.from({ length: layers }, (_, l) => ({ param: `blocks.${l}.mlp.W_out` as ParamName, kind: 'dense' as const, shape: [rows, cols], delta: sized(rows * cols) })),
});

describe('edit JSON size: the ΔW must fit one JavaScript string', () => {
  test('V8\'s limit on this Node is 2^29 - 24 characters (what the check compares with)', () => {
    assert.equal(bufferConstants.MAX_STRING_LENGTH, 2 ** 29 - 24);
  });

  test('GPT-2 XL: one dense W_out [6400, 1600] is 54.6 M base64 characters; five layers (273 M) still fit', () => {
    assert.equal(encodedEditChars(denseEdit(1, 6400, 1600)), 4 * Math.ceil((4 * 6400 * 1600) / 3));
    assert.equal(encodedEditChars(denseEdit(1, 6400, 1600)), 54_613_336);
    assert.doesNotThrow(() => checkEditFitsJson(denseEdit(5, 6400, 1600)));
  });

  test('GPT-J: two dense W_out [16384, 4096] (716 M characters) are refused before encoding, in one line pointing at a run folder', () => {
    const edit = denseEdit(2, 16384, 4096);
    assert.equal(encodedEditChars(edit), 2 * 357_913_944);
    assert.throws(() => encodeEdit(edit, stubModel), (e: unknown) => {
      assert.ok(e instanceof LocusError && e.code === 'bad-input', String(e));
      assert.ok(!e.message.includes('\n'));
      assert.match(e.message, /ΔW is 716 MB as base64 JSON, more than one JSON string can hold \(537 MB\)/);
      assert.match(e.message, /--sequential --batch-size <all of them> --out DIR/);
      return true;
    });
    // One GPT-J layer (358 M characters) fits.
    assert.doesNotThrow(() => checkEditFitsJson(denseEdit(1, 16384, 4096)));
  });

  test('a real edit against a lowered limit: refused past it, bit for bit through JSON under it', () => {
    const delta = new Float32Array(64 * 256).map((_, i) => Math.sin(i) * 1e-3);
    const edit: Edit = { method: 'ft', layers: [2], deltas: [{ param: 'blocks.2.mlp.W_in' as ParamName, kind: 'dense', shape: [64, 256], delta }] };
    const chars = encodedEditChars(edit);
    assert.throws(() => encodeEdit(edit, stubModel, chars), /more than one JSON string can hold/);
    const json = JSON.stringify(encodeEdit(edit, stubModel, chars + 16 * 2 ** 20));
    const model = { ...stubModel, config: { n_layers: 4 }, param: () => ({ shape: [64, 256], data: new Float32Array(0) }) } as unknown as LoadedModel;
    const back = decodeEdit(JSON.parse(json), model, 'edit.json');
    assert.deepEqual(back.deltas[0].kind === 'dense' && back.deltas[0].delta, delta);
  });
});
