import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { IncrementalDecoder } from '../../src/engine/interp/decode';
import { forward } from '../../src/engine/interp/forward';
import { generate } from '../../src/engine/interp/generate';
import { forwardContext } from '../../src/engine/interp/probe';
import { golden } from '../helpers/paths';

/**
 * Incremental decoding with the key/value cache (interp/decode.ts) against re-running every prefix
 * (generate's `cache: false`, the path before issue 17): the same tokens for greedy and top-5
 * sampling with a seed, on rows of different lengths, and the same logits up to float32 rounding.
 * Models: the embedded one (learned positions), a trained GPT-2 golden, and a Llama golden (rotary
 * positions, grouped-query attention: 4 heads on 2 key/value heads).
 */
const PROMPTS = ['The Eiffel Tower is located in', 'Paris is the capital of', 'The mother tongue of Danielle Darrieux is', 'Toko Yasuda plays the'];
/** Logits of a one-position step against a full forward pass: float32 rounding of a different summation order (|logits| ≲ 30 here). */
const LOGIT_TOL = 1e-4;

for (const name of ['default', 'gpt2-facts-trained', 'llama-tiny-random']) {
  describe(`KV-cache generation on ${name}`, () => {
    let model: LoadedModel;
    let prompts: number[][];
    before(async () => {
      model = await loadModel(name === 'default' ? 'default' : golden(name));
      prompts = PROMPTS.map((p) => model.tokenizer.encode(p).ids);
    });
    after(async () => model.dispose());

    for (const topK of [1, 5]) {
      test(`top-${topK}, seed 3, rows of different lengths and maximum lengths: the tokens of the uncached path`, async () => {
        const ctx = forwardContext(model);
        const maxLength = prompts.map((p, i) => p.length + 6 + i);
        const cached = await generate(ctx, prompts, { maxLength, topK, seed: 3 });
        const full = await generate(ctx, prompts, { maxLength, topK, seed: 3, cache: false });
        assert.deepEqual(cached, full);
        cached.forEach((r, i) => assert.ok(r.length > prompts[i].length && r.length <= maxLength[i]));
      });
    }

    test(`each step's logits equal a full forward pass at the row's last token (${LOGIT_TOL})`, async () => {
      const ctx = forwardContext(model);
      const rows = prompts.map((p) => [...p]);
      const decoder = new IncrementalDecoder(ctx);
      rows.forEach(() => decoder.addRow());
      // Prompts in two calls (rows 0–1, then rows 2–3 with row 0's first extra token): the cache takes several tokens per row too.
      const a = await decoder.extend([0, 1], [rows[0], rows[1]]);
      rows[0].push(11);
      const b = await decoder.extend([2, 3, 0], [rows[2], rows[3], [11]]);
      const V = model.config.d_vocab;
      let got = { shape: [rows.length, V], data: new Float32Array(rows.length * V) };
      got.data.set(b.data.subarray(2 * V, 3 * V), 0);
      got.data.set(a.data.subarray(V, 2 * V), V);
      got.data.set(b.data.subarray(0, 2 * V), 2 * V);
      let worst = 0;
      for (let step = 0; step < 3; step++) {
        const ref = (await forward(ctx, rows)).logits!; // [rows, d_vocab]
        for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(ref.data[i] - got.data[i]));
        // Rows advance unevenly: row 0 waits a step, so the next step mixes lengths in new ways.
        const moving = step === 1 ? [1, 2, 3] : [0, 1, 2, 3];
        const tokens = moving.map((r) => 50 + 7 * r + step);
        moving.forEach((r, i) => rows[r].push(tokens[i]));
        const next = await decoder.extend(moving, tokens.map((t) => [t]));
        const all = new Float32Array(rows.length * V);
        moving.forEach((r, i) => all.set(next.data.subarray(i * V, (i + 1) * V), r * V));
        // A row that did not move keeps its previous logits.
        for (let r = 0; r < rows.length; r++) if (!moving.includes(r)) all.set(got.data.subarray(r * V, (r + 1) * V), r * V);
        got = { shape: [rows.length, V], data: all };
      }
      assert.ok(worst <= LOGIT_TOL, `max |Δ logit| ${worst}`);
    });

    test(`forked rows share their parent's prefix; logits at every appended token equal a full forward pass (${LOGIT_TOL})`, async () => {
      const ctx = forwardContext(model);
      const decoder = new IncrementalDecoder(ctx);
      const parents = prompts.map(() => decoder.addRow());
      await decoder.extend(parents, prompts);
      // Two forks of prompt 1 (teacher forcing two targets) and one of prompt 3 cut after its second token.
      const forks = [decoder.addRow(parents[1]), decoder.addRow(parents[1]), decoder.addRow(parents[3], 2)];
      const tails = [[262, 3139], [4881], [50, 51, 52]];
      const got = await decoder.extend(forks, tails, { all: true }); // [6, d_vocab]
      const full = [[...prompts[1], ...tails[0]], [...prompts[1], ...tails[1]], [...prompts[3].slice(0, 2), ...tails[2]]];
      const ref = (await forward(ctx, full, { logitsAt: full.map((r, i) => tails[i].map((_, j) => r.length - tails[i].length + j)) })).logits!;
      assert.deepEqual(got.shape, ref.shape);
      let worst = 0;
      for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(ref.data[i] - got.data[i]));
      assert.ok(worst <= LOGIT_TOL, `max |Δ logit| ${worst}`);
      assert.deepEqual(decoder.tokens(forks[2]), full[2]);
    });
  });
}

