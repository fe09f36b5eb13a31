import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { exportModel, loadModel, probe } from '../../src/engine/index';
import { adapterFor } from '../../src/engine/model/arch/index';
import { golden, tempDir } from '../helpers/paths';

/**
 * Export inverts each adapter's table: reloading the written folder gives every canonical parameter
 * bit for bit (GPT-2's fused c_attn columns, GPT-J's transposed nn.Linear weights and untied lm_head)
 * and the same next-token distribution.
 */
for (const name of ['gpt2-tiny-trained', 'gptj-tiny-random']) {
  test(`${name}: export → reload is the identity on every parameter`, async () => {
    const dir = tempDir();
    const src = await loadModel(golden(name), { threads: 1 });
    try {
      const out = path.join(dir, 'copy');
      exportModel(src, out, { note: 'test' });
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')), JSON.parse(fs.readFileSync(golden(name, 'config.json'), 'utf8')));
      const copy = await loadModel(out, { threads: 1 });
      try {
        const names = adapterFor(src.config.modelType).paramNames(src.config);
        assert.ok(names.length > 10);
        for (const n of names) assert.deepEqual(copy.param(n).data, src.param(n).data, n);
        const prompt = 'The Space Needle is located in the city of';
        assert.deepEqual((await probe(copy, prompt, 5)).top, (await probe(src, prompt, 5)).top);
      } finally {
        await copy.dispose();
      }
    } finally {
      await src.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
