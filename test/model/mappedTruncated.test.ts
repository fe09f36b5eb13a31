import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import { LocusError } from '../../src/engine/errors';
import { readConfig } from '../../src/engine/model/config';
import type { ParamName } from '../../src/engine/model/names';
import { loadWeights } from '../../src/engine/model/weights';
import { golden, tempDir } from '../helpers/paths';

/**
 * A truncated safetensors file (an interrupted download) and mapped weights (issue 17 follow-up): ORT
 * maps the user's file, and a mapped page past the end of a file is SIGBUS, which kills the process. The
 * golden gpt2-facts-trained (14 MB) is loaded lean, which maps every parameter as a GPT-2 XL is.
 */
const NAME = 'gpt2-facts-trained';
const CUT = 1000;

function copyGolden(into: string): string {
  fs.mkdirSync(into, { recursive: true });
  for (const f of ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
    fs.copyFileSync(golden(NAME, f), path.join(into, f));
    fs.chmodSync(path.join(into, f), 0o644);
  }
  return path.join(into, 'model.safetensors');
}

function isOneLineWeightsError(e: unknown, pattern: RegExp): boolean {
  assert.ok(e instanceof LocusError && e.code === 'bad-weights', String(e));
  assert.ok(!e.message.includes('\n'), e.message);
  assert.match(e.message, pattern);
  return true;
}

describe('mapped weights and a truncated file', () => {
  let dir: string;
  before(() => {
    dir = tempDir('locus-truncated-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('truncated before loading: refused at load, naming the file and the sizes, before anything is mapped', async () => {
    const file = copyGolden(path.join(dir, 'before'));
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - CUT);
    // The header's offsets against the file's size (safetensors.ts): the same check for mapped and read loads.
    await assert.rejects(loadModel(path.dirname(file), { lean: true }), (e) =>
      isOneLineWeightsError(e, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: tensor \\S+ has data offsets past the end of the file \\(\\[\\d+, \\d+\\] but the data section is \\d+ bytes\\): the file is truncated`)),
    );
  });

  test('truncated after loading, before a session maps it: the stand-in is refused with expected vs actual size', () => {
    const file = copyGolden(path.join(dir, 'after'));
    const size = fs.statSync(file).size;
    const w = loadWeights(path.dirname(file), readConfig(path.dirname(file)), { lean: true });
    try {
      const source = w.mapped!.unless(() => false);
      assert.ok(source.placeholder('blocks.0.mlp.W_in' as ParamName), 'the whole file: mapped');
      fs.truncateSync(file, size - CUT);
      // Without the check ORT would map the span and the first read past the new end would be SIGBUS.
      assert.throws(() => source.placeholder('blocks.0.mlp.W_in' as ParamName), (e) =>
        isOneLineWeightsError(e, new RegExp(`model\\.safetensors is ${size - CUT} bytes but its header places tensor data up to byte ${size}: the file was truncated after the model was loaded`)),
      );
    } finally {
      w.store.close();
    }
  });
});
