import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeEdit, encodeEdit, isLocusError, loadModel, readEditSource, SEQ_BATCHES } from '../../src/engine/index';
import { writeBatchDeltas, writeSequentialManifest } from '../../src/engine/methods/sequential/store';
import type { Edit, EncodedDelta, EncodedEdit, LoadedModel } from '../../src/engine/index';
import { golden, tempDir } from '../helpers/paths';

/**
 * The edit file (editFile.ts): an Edit survives JSON bit for bit (every float32 pattern, denormals, -0
 * and the largest finite value included), and every way a file can be wrong — another model, a shape
 * that does not fit, a parameter the model lacks, damaged base64, missing fields — is one line naming
 * the file, never a ΔW added to the wrong weights.
 */
const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
const roundTrip = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
type RankOneFile = EncodedEdit & { deltas: Array<Extract<EncodedDelta, { kind: 'rank-one' }>> };

describe('edit file: encode / decode', () => {
  let model: LoadedModel;
  let rankOne: Edit;
  let dense: Edit;
  before(async () => {
    model = await loadModel(golden('gpt2-facts-trained'));
    // [256, 64] W_out of layer 1; special values first, then a deterministic spread of magnitudes.
    const u = new Float32Array(256).map((_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 9) - 4));
    const v = new Float32Array(64).map((_, i) => Math.cos(i * 78.233) * 10 ** ((i % 7) - 3));
    u.set([-0, 1e-45, -1.17549435e-38, 3.4028234663852886e38]);
    rankOne = { method: 'rome', layers: [1], deltas: [{ param: 'blocks.1.mlp.W_out', kind: 'rank-one', u, v }] };
    const delta = new Float32Array(64 * 256).map((_, i) => Math.sin(i) * 1e-3);
    dense = { method: 'ft', layers: [2], deltas: [{ param: 'blocks.2.mlp.W_in', kind: 'dense', shape: [64, 256], delta }] };
  });
  after(async () => model.dispose());

  test('rank-one and dense edits come back bit for bit, from the edit alone or the whole locus edit --json', () => {
    for (const edit of [rankOne, dense]) {
      const encoded = encodeEdit(edit, model);
      for (const json of [roundTrip(encoded), roundTrip({ model: model.manifest, metrics: {}, edit: encoded })]) {
        const back = decodeEdit(json, model, 'edit.json');
        assert.equal(back.method, edit.method);
        assert.deepEqual(back.layers, edit.layers);
        const [a, b] = [edit.deltas[0], back.deltas[0]];
        assert.equal(b.param, a.param);
        assert.equal(b.kind, a.kind);
        if (a.kind === 'rank-one' && b.kind === 'rank-one') {
          assert.deepEqual(bits(b.u), bits(a.u));
          assert.deepEqual(bits(b.v), bits(a.v));
        } else if (a.kind === 'dense' && b.kind === 'dense') {
          assert.deepEqual(b.shape, a.shape);
          assert.deepEqual(bits(b.delta), bits(a.delta));
        }
      }
    }
  });

  test('every malformed or foreign file is one line naming the file', () => {
    const good = (): RankOneFile => roundTrip(encodeEdit(rankOne, model)) as RankOneFile;
    const cases: Array<[string, (e: RankOneFile) => unknown, RegExp, string?]> = [
      ['not an object', () => [1, 2], /must hold a JSON object .* not an array/],
      ['no edit field', () => ({ model: model.manifest, metrics: {} }), /holds no edit: expected an "edit" field from locus edit --json/],
      ['a sequential run', () => ({ batches: [] }), /a sequential run: not yet supported/],
      ['another model', (e) => ({ ...e, model: { name: 'gpt2-xl', fingerprint: 'deadbeef' } }), /computed on gpt2-xl \(fingerprint deadbeef\), not on gpt2-facts-trained/],
      ['no model', (e) => ({ ...e, model: undefined }), /lacks "model"/],
      ['another version', (e) => ({ ...e, version: 2 }), /version 2 is not supported/],
      ['layer out of range', (e) => ({ ...e, layers: [6] }), /"layers" must be layer numbers 0\.\.5/],
      ['no deltas', (e) => ({ ...e, deltas: [] }), /has no "deltas"/],
      ['unknown parameter', (e) => ({ ...e, deltas: [{ ...e.deltas[0], param: 'blocks.9.mlp.W_out' }] }), /has no parameter "blocks\.9\.mlp\.W_out"/],
      ['u and v swapped', (e) => ({ ...e, deltas: [{ ...e.deltas[0], u: e.deltas[0].v, v: e.deltas[0].u }] }), /u vᵀ is \[64, 256\] but blocks\.1\.mlp\.W_out is \[256, 64\]/],
      ['damaged base64', (e) => ({ ...e, deltas: [{ ...e.deltas[0], u: { length: 256, float32le: 'ab$d' } }] }), /deltas\[0\]\.u\.float32le is not base64/],
      ['truncated bytes', (e) => ({ ...e, deltas: [{ ...e.deltas[0], v: { length: 64, float32le: e.deltas[0].v.float32le.slice(0, 100) } }] }), /deltas\[0\]\.v holds 75 bytes; 64 float32 values need 256/],
      ['unknown kind', (e) => ({ ...e, deltas: [{ ...e.deltas[0], kind: 'low-rank' }] }), /"kind" must be "rank-one" or "dense"/],
      ['dense of another shape', (e) => ({ ...e, deltas: [{ param: 'blocks.1.mlp.W_out', kind: 'dense', shape: [64, 256], delta: e.deltas[0].u }] }), /ΔW shape \[64, 256\] is not blocks\.1\.mlp\.W_out's \[256, 64\]/],
      ['NaN', (e) => ({ ...e, deltas: [{ ...e.deltas[0], v: { length: 1, float32le: Buffer.from(new Float32Array([NaN]).buffer).toString('base64') } }] }), /deltas\[0\]\.v\[0\] is NaN/, 'non-finite'],
    ];
    for (const [what, make, message, code] of cases) {
      assert.throws(
        () => decodeEdit(make(good()), model, 'edit file e.json'),
        (e: unknown) => {
          assert.ok(isLocusError(e), `${what}: ${String(e)}`);
          assert.equal(e.code, code ?? 'bad-input', what);
          assert.match(e.message, /^edit file e\.json: /, what);
          assert.match(e.message, message, what);
          assert.ok(!e.message.includes('\n'), `${what}: one line`);
          return true;
        },
        what,
      );
    }
  });

  test('a sequential run folder reads as its batches in order, exactly as stored; another model\'s run is refused', () => {
    const dir = tempDir('locus-edit-run-');
    try {
      // The run's own store writes the folder (the layout locus edit --sequential --out leaves).
      writeSequentialManifest(dir, { kind: 'locus-sequential', model: model.manifest, spec: { method: 'ft' } as never });
      const lines = [rankOne, dense].map((e, i) => JSON.stringify({ batch: i, requests: [], layers: e.layers, deltas: writeBatchDeltas(dir, i, e), seconds: 0 }));
      fs.writeFileSync(path.join(dir, SEQ_BATCHES), lines.join('\n') + '\n');
      const run = readEditSource(dir, model, '--edit');
      assert.equal(run.method, 'ft');
      assert.deepEqual(run.layers, [1, 2]);
      assert.equal(run.deltas.length, 2);
      const [a, b] = run.deltas;
      assert.ok(a.kind === 'rank-one' && rankOne.deltas[0].kind === 'rank-one');
      assert.deepEqual(bits(a.u), bits(rankOne.deltas[0].u));
      assert.ok(b.kind === 'dense' && dense.deltas[0].kind === 'dense');
      assert.deepEqual(bits(b.delta), bits(dense.deltas[0].delta));

      writeSequentialManifest(dir, { kind: 'locus-sequential', model: { ...model.manifest, name: 'other', fingerprint: 'feedface' }, spec: { method: 'ft' } as never });
      assert.throws(() => readEditSource(dir, model, '--edit'), /^LocusError: --edit .*: the run was made on other \(fingerprint feedface\), not on gpt2-facts-trained/);
      assert.throws(() => readEditSource(path.dirname(dir), model, '--edit'), /is a folder without manifest\.json/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
