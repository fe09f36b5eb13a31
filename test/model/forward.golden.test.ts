import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { forward, forwardContext, loadModel } from '../../src/engine/index';
import type { ActName, LoadedModel } from '../../src/engine/index';
import { gpt2TokenizerJson, parseMergesTxt } from '../../src/engine/model/tokenizer';
import { assertAllClose } from '../helpers/assertClose';
import { golden, tempDir } from '../helpers/paths';

/** Reference: HF transformers 4.15 float32 (../shared/golden/README.md). Tolerance 1e-4 absolute. */
const ATOL = 1e-4;

interface GoldenPrompt {
  prompt: string;
  input_ids: number[];
  tokens: string[];
  logits_last: number[];
  hidden?: Record<string, number[][]>;
}

const MODELS = ['gpt2-tiny-trained', 'gpt2-facts-trained', 'gptj-tiny-random'];

/** A copy of a golden folder whose tokenizer is a tokenizer.json written from vocab.json + merges.txt. */
function withTokenizerJson(src: string): string {
  const dir = tempDir('locus-tokjson-');
  for (const f of ['config.json', 'model.safetensors']) fs.symlinkSync(path.join(src, f), path.join(dir, f));
  const vocab = JSON.parse(fs.readFileSync(path.join(src, 'vocab.json'), 'utf8'));
  const merges = parseMergesTxt(fs.readFileSync(path.join(src, 'merges.txt'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson(vocab, merges)));
  return dir;
}

for (const name of MODELS) {
  const ref = JSON.parse(fs.readFileSync(golden(name, 'forward.json'), 'utf8')) as { prompts: GoldenPrompt[] };

  for (const tokenizerSource of ['vocab.json + merges.txt', 'tokenizer.json']) {
    describe(`${name} forward parity (${tokenizerSource})`, () => {
      let model: LoadedModel;
      let dir: string;
      before(async () => {
        dir = tokenizerSource === 'tokenizer.json' ? withTokenizerJson(golden(name)) : golden(name);
        model = await loadModel(dir);
      });
      after(async () => {
        await model.dispose();
        if (dir !== golden(name)) fs.rmSync(dir, { recursive: true, force: true });
      });

      test('token ids equal the reference', () => {
        for (const p of ref.prompts) {
          const enc = model.tokenizer.encode(p.prompt);
          assert.deepEqual(enc.ids, p.input_ids, p.prompt);
          assert.deepEqual(enc.tokens, p.tokens, p.prompt);
        }
      });

      test('last-position logits of every prompt, one prompt at a time', async () => {
        for (const p of ref.prompts) {
          const { logits } = await forward(forwardContext(model), [model.tokenizer.encode(p.prompt).ids]);
          assertAllClose(logits!.data, p.logits_last, ATOL, `${name} logits "${p.prompt}"`);
        }
      });
    });
  }

  describe(`${name} activations and batching`, () => {
    let model: LoadedModel;
    before(async () => (model = await loadModel(golden(name))));
    after(async () => model.dispose());

    test('every recorded hidden state of the first prompt', async () => {
      const p = ref.prompts[0];
      const names = Object.keys(p.hidden!) as ActName[];
      assert.ok(names.length >= 4 * model.config.n_layers, `golden records ${names.length} activations`);
      const { acts } = await forward(forwardContext(model), [p.input_ids], { fetch: names, logits: 'all' });
      for (const n of names) {
        const got = acts.get(n);
        assert.ok(got, `activation ${n} was not returned`);
        assertAllClose(got.data, p.hidden![n].flat(), ATOL, `${name} ${n}`);
      }
    });

    test('a right-padded batch of prompts of different lengths gives each prompt its own logits', async () => {
      const batch = ref.prompts.map((p) => p.input_ids);
      assert.ok(new Set(batch.map((b) => b.length)).size > 1, 'prompts differ in length');
      const { logits, lengths } = await forward(forwardContext(model), batch);
      assert.deepEqual(lengths, batch.map((b) => b.length));
      const V = model.config.d_vocab;
      ref.prompts.forEach((p, i) => assertAllClose(logits!.data.subarray(i * V, (i + 1) * V), p.logits_last, ATOL, `${name} batched row ${i}`));
    });
  });
}
