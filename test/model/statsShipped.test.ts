import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { smallModelMemit, smallModelRome } from '../../src/engine/methods/edit/presets/smallModel';
import { defaultModelDir } from '../../src/engine/model/locate';
import { embeddedModelStatsCorpus } from '../../src/engine/methods/stats/modelCorpus';
import { readOnlyStatsDirs } from '../../src/engine/methods/stats/cacheLocation';
import { loadOrComputeSecondMoment } from '../../src/engine/methods/stats/statsCache';
import { tempDir } from '../helpers/paths';

/**
 * The embedded model ships C for every layer (assets/default-model/stats, scripts/make-default-stats.js):
 * with a fresh user cache, every layer ROME's and MEMIT's presets use is read, none computed. Fails when
 * the model, its default corpus or the cache key changes without the script being run again.
 */
let model: LoadedModel;
let cache: string;
before(async () => {
  model = await loadModel(defaultModelDir()!);
  cache = tempDir('locus-shipped-');
});
after(async () => {
  await model.dispose();
  fs.rmSync(cache, { recursive: true, force: true });
});

test('every layer of the embedded model has shipped statistics; nothing is computed or written', async () => {
  const L = model.config.n_layers;
  const preset = new Set([...smallModelRome(L).layers, ...smallModelMemit(L).layers]);
  const layers = Array.from({ length: L }, (_, l) => l);
  for (const l of preset) assert.ok(layers.includes(l));
  assert.equal(readOnlyStatsDirs(model, cache)[0], path.join(model.manifest.path, 'stats'), 'searched by default, first after the user cache');
  const lines: string[] = [];
  const t0 = Date.now();
  const stats = await loadOrComputeSecondMoment(model, layers, embeddedModelStatsCorpus(), { cacheDir: cache, log: (s) => lines.push(s), readOnlyDirs: [path.join(model.manifest.path, 'stats')] });
  console.log(`# ${L} layers read in ${Date.now() - t0} ms`);
  assert.ok(!lines.some((s) => s.startsWith('computing')), lines.join('\n'));
  for (const l of layers) {
    assert.ok(lines.some((s) => s.startsWith(`note: layer ${l}: key statistics shipped with the model`)), `layer ${l}: ${lines.join('\n')}`);
    const m = stats.get(l)!;
    assert.equal(m.dim, model.config.d_mlp);
    assert.ok(m.count > 100_000, `layer ${l}: ${m.count} tokens`);
    for (let i = 0; i < m.dim; i++) assert.ok(m.mom2[i * m.dim + i] >= 0);
  }
  assert.deepEqual(fs.readdirSync(cache), [], 'nothing written to the user cache');
});
