/**
 * loadWeights' guards below the CLI: NaN/Inf found at load (small models) or at a tensor's first read
 * (models above `checkAtLoadBytes`), as an error or, allowed, as a warning; config sizes checked
 * against the weights' shapes before the adapter builds anything.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { isLocusError } from '../../../src/engine/errors';
import { parseConfig, readConfig } from '../../../src/engine/model/config';
import { openSafetensorsFile, writeSafetensors } from '../../../src/engine/model/safetensors';
import { boundedList, checkConfigAgainstWeights, loadWeights } from '../../../src/engine/model/weights';
import type { Tensor } from '../../../src/engine/tensor/tensor';
import { golden, tempDir } from '../../helpers/paths';

const GPT2 = golden('gpt2-tiny-trained');
const root = tempDir('locus-weights-');
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A copy of gpt2-tiny-trained with `bad` elements of `tensor` set to `value`. */
function poisoned(tensor: string, bad: number, value: number): string {
  const dir = fs.mkdtempSync(path.join(root, 'copy-'));
  fs.copyFileSync(path.join(GPT2, 'config.json'), path.join(dir, 'config.json'));
  const store = openSafetensorsFile(path.join(GPT2, 'model.safetensors'));
  const ts: Array<{ name: string; tensor: Tensor }> = store.names().map((name) => ({ name, tensor: store.read(name) }));
  store.close();
  const t = ts.find((x) => x.name === tensor);
  assert.ok(t);
  for (let i = 0; i < bad; i++) t.tensor.data[i * 3] = value;
  writeSafetensors(path.join(dir, 'model.safetensors'), ts);
  return dir;
}

const nonFinite = (part: string) => (e: unknown): boolean => {
  assert.ok(isLocusError(e), String(e));
  assert.equal(e.code, 'non-finite');
  assert.ok(e.message.includes(part), e.message);
  return true;
};

describe('NaN/Inf weights', () => {
  const dir = poisoned('transformer.h.1.attn.c_proj.weight', 7, Infinity);
  const cfg = readConfig(GPT2);

  it('refuses them at load for a small model, naming the tensor and the count', () => {
    assert.throws(() => loadWeights(dir, cfg), nonFinite('transformer.h.1.attn.c_proj.weight has 7 NaN/Inf of 4,096; pass --allow-nonfinite'));
  });

  it('with allowNonFinite, loads with one warning', () => {
    const w = loadWeights(dir, cfg, { allowNonFinite: true });
    try {
      assert.equal(w.warnings.length, 1);
      assert.match(w.warnings[0], /transformer\.h\.1\.attn\.c_proj\.weight has 7 NaN\/Inf of 4,096; loaded anyway/);
      assert.equal(w.params.get('blocks.1.attn.W_O').data[0], Infinity);
    } finally {
      w.store.close();
    }
  });

  it('above checkAtLoadBytes, opens without reading and fails on the first read of the bad tensor', () => {
    const w = loadWeights(dir, cfg, { checkAtLoadBytes: 0 });
    try {
      assert.doesNotThrow(() => w.params.get('blocks.0.attn.W_O'));
      assert.throws(() => w.params.get('blocks.1.attn.W_O'), nonFinite('has 7 NaN/Inf'));
      // Still refused on a second try (nothing was cached).
      assert.throws(() => w.params.get('blocks.1.attn.W_O'), nonFinite('has 7 NaN/Inf'));
    } finally {
      w.store.close();
    }
  });

  it('above checkAtLoadBytes with allowNonFinite, the warning appears at the first read', () => {
    const w = loadWeights(dir, cfg, { checkAtLoadBytes: 0, allowNonFinite: true });
    try {
      assert.deepEqual(w.warnings, []);
      w.params.get('blocks.1.attn.W_O');
      assert.equal(w.warnings.length, 1);
      assert.match(w.warnings[0], /has 7 NaN\/Inf of 4,096; loaded anyway/);
    } finally {
      w.store.close();
    }
  });

  it('a clean model loads with no warning', () => {
    const w = loadWeights(GPT2, cfg);
    w.store.close();
    assert.deepEqual(w.warnings, []);
  });
});

describe('config sizes against the weights', () => {
  const store = openSafetensorsFile(path.join(GPT2, 'model.safetensors'));
  after(() => store.close());
  const raw = JSON.parse(fs.readFileSync(path.join(GPT2, 'config.json'), 'utf8')) as Record<string, unknown>;
  const check = (edit: Record<string, unknown>): void => checkConfigAgainstWeights(parseConfig({ ...raw, ...edit }), store);

  it('accepts the real config and fewer layers than the file holds', () => {
    check({});
    check({ n_layer: 2 });
  });

  for (const [edit, part] of [
    [{ n_layer: 4000 }, '"n_layer" is 4,000 but model.safetensors holds 4 layers (0 to 3)'],
    [{ n_embd: 256 }, '"n_embd" is 256 but transformer.wte.weight is [50257, 64]'],
    [{ vocab_size: 50258 }, '"vocab_size" is 50,258 but transformer.wte.weight is [50257, 64]'],
    [{ n_positions: 2048 }, '"n_positions" is 2,048 but transformer.wpe.weight is [1024, 64]'],
  ] as const) {
    it(`refuses ${JSON.stringify(edit)}`, () => {
      assert.throws(() => check(edit), (e: unknown) => isLocusError(e) && e.code === 'shape-mismatch' && e.message.includes(part));
    });
  }

  it('refuses sizes beyond the bounds in parseConfig itself', () => {
    for (const key of ['n_layer', 'n_embd', 'n_head', 'n_positions', 'vocab_size', 'n_inner']) {
      assert.throws(() => parseConfig({ ...raw, [key]: 2 ** 40 }), (e: unknown) => isLocusError(e) && e.message.includes(`"${key}" is 1,099,511,627,776, more than Locus accepts`));
    }
  });
});

describe('boundedList', () => {
  it('lists up to five items, then a count', () => {
    assert.equal(boundedList(['a', 'b'], 'x'), 'a; b');
    assert.equal(boundedList(Array.from({ length: 8 }, (_, i) => `t${i}`), 'tensors'), 't0; t1; t2; t3; t4; … and 3 more tensors');
  });
});
