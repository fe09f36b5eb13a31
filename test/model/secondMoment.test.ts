import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { corpusFromTextFile, corpusSha256, defaultStatsCorpus, sampleDocuments } from '../../src/engine/methods/stats/corpus';
import type { StatsCorpus } from '../../src/engine/methods/stats/corpus';
import { PyRandom } from '../../src/engine/methods/stats/pyRandom';
import { computeSecondMoment } from '../../src/engine/methods/stats/secondMoment';
import type { SecondMoment } from '../../src/engine/methods/stats/secondMoment';
import { loadOrComputeSecondMoment } from '../../src/engine/methods/stats/statsCache';
import { maxAbsDiff } from '../helpers/assertClose';
import { golden, tempDir } from '../helpers/paths';

/** The golden's `stats.layers[0]`: ROME's layer_stats over stats_corpus.txt (golden README). */
interface GoldenStats {
  layer: number;
  count: number;
  dim: number;
  mom2_moment: number[][];
}

function goldenStats(model: string, file: string): GoldenStats {
  const json = JSON.parse(fs.readFileSync(golden(model, file), 'utf8')) as { stats: { layers: GoldenStats[] } };
  return json.stats.layers[0];
}

/** Asserts C against ROME's and returns the max |ΔC| (reported: the reference summed in float32). */
function checkAgainstGolden(s: SecondMoment, g: GoldenStats, what: string): number {
  assert.equal(s.count, g.count, `${what}: token count`);
  assert.equal(s.dim, g.dim);
  const diff = maxAbsDiff(s.mom2, g.mom2_moment.flat());
  assert.ok(diff <= 1e-5, `${what}: max |ΔC| ${diff} > 1e-5`);
  console.log(`# ${what}: count ${s.count}, max |ΔC| = ${diff.toExponential(2)}`);
  return diff;
}

describe('PyRandom and ROME document sampling', () => {
  test('shuffle and getrandbits match CPython 3.11 random.Random', () => {
    const r = new PyRandom(1);
    assert.deepEqual([r.nextUint32(), r.nextUint32(), r.nextUint32()], [577090037, 2444712010, 3639700191]);
    const shuffled = (seed: number, n: number): number[] => {
      const x = Array.from({ length: n }, (_, i) => i);
      new PyRandom(seed).shuffle(x);
      return x;
    };
    assert.deepEqual(shuffled(1, 20), [11, 5, 17, 19, 9, 0, 16, 1, 15, 6, 10, 13, 14, 12, 7, 3, 8, 2, 18, 4]);
    const big = shuffled(1, 1000);
    assert.deepEqual([...big.slice(0, 10), ...big.slice(-5)], [852, 836, 280, 575, 208, 609, 932, 725, 47, 985, 782, 821, 867, 582, 137]);
    assert.deepEqual(shuffled(0, 10), [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]);
    assert.deepEqual(shuffled(12345678901, 10), [8, 7, 3, 1, 0, 4, 2, 6, 5, 9]);
  });

  test('a sample below the corpus size is the seed-1 shuffle prefix; above it, every document', () => {
    assert.deepEqual(sampleDocuments(1000, 10), [852, 836, 280, 575, 208, 609, 932, 725, 47, 985]);
    assert.deepEqual([...sampleDocuments(20, 100_000)].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('stats corpora', () => {
  test('stats_corpus.txt: one document per non-empty line, without the line break', () => {
    const c = corpusFromTextFile(golden('gpt2-tiny-trained', 'stats_corpus.txt'));
    assert.equal(c.texts.length, 1000);
    assert.ok(c.texts.every((t) => t.trim() !== '' && !t.includes('\n')));
    assert.equal(corpusSha256(c), corpusSha256({ name: 'other name', texts: [...c.texts] }));
    assert.notEqual(corpusSha256(c), corpusSha256({ name: c.name, texts: [c.texts.slice(0, 2).join('')] }));
  });

  test('bundled WikiText-2: Hugging Face rows (line + "\\n"), blank rows dropped', () => {
    const c = defaultStatsCorpus();
    assert.equal(c.texts.length, 5352);
    assert.equal(c.texts[0], ' = Homarus gammarus = \n');
    assert.ok(c.texts.every((t) => t.endsWith('\n') && t.trim() !== ''));
  });
});

describe('computeSecondMoment reproduces ROME layer_stats', () => {
  let tiny: LoadedModel;
  let facts: LoadedModel;
  let corpus: StatsCorpus;
  before(async () => {
    [tiny, facts] = await Promise.all([loadModel(golden('gpt2-tiny-trained')), loadModel(golden('gpt2-facts-trained'))]);
    corpus = corpusFromTextFile(golden('gpt2-tiny-trained', 'stats_corpus.txt'));
  });
  after(async () => Promise.all([tiny.dispose(), facts.dispose()]));

  test('gpt2-tiny-trained layer 1: C and count of rome_space_needle.json', async () => {
    const g = goldenStats('gpt2-tiny-trained', 'rome_space_needle.json');
    const t0 = performance.now();
    const s = (await computeSecondMoment(tiny, [g.layer], corpus)).get(g.layer)!;
    console.log(`# gpt2-tiny-trained: C of layer ${g.layer} over ${corpus.texts.length} documents in ${(performance.now() - t0).toFixed(0)} ms`);
    checkAgainstGolden(s, g, 'gpt2-tiny-trained layer 1');
    for (let i = 0; i < s.dim; i++) for (let j = 0; j < i; j++) assert.equal(s.mom2[i * s.dim + j], s.mom2[j * s.dim + i]);
  });

  test('gpt2-facts-trained layers 1 and 2 in one pass: rome_eiffel.json C, memit_two.json counts', async () => {
    const g = goldenStats('gpt2-facts-trained', 'rome_eiffel.json');
    const r = await computeSecondMoment(facts, [2, 1], corpus);
    checkAgainstGolden(r.get(1)!, g, 'gpt2-facts-trained layer 1');
    assert.equal(r.get(2)!.count, 40413);
  });

  test('batching changes C only by rounding; sampling and truncation decide the count', async () => {
    const opts = { sampleSize: 60, maxLength: 16 };
    const a = (await computeSecondMoment(tiny, [0], corpus, opts)).get(0)!;
    const b = (await computeSecondMoment(tiny, [0], corpus, { ...opts, batchTokens: 40 })).get(0)!;
    const docs = sampleDocuments(corpus.texts.length, 60);
    const expected = docs.reduce((n, i) => n + Math.min(16, tiny.tokenizer.encode(corpus.texts[i]).ids.length), 0);
    assert.equal(a.count, expected);
    assert.equal(b.count, expected);
    assert.ok(maxAbsDiff(a.mom2, b.mom2) <= 1e-12, `batching moved C by ${maxAbsDiff(a.mom2, b.mom2)}`);
  });

  test('progress, cancellation between batches, bad layers', async () => {
    const seen: number[] = [];
    const ctl = new AbortController();
    await assert.rejects(
      computeSecondMoment(tiny, [0, 3], corpus, {
        sampleSize: 300,
        signal: ctl.signal,
        onProgress: (done, total) => {
          assert.equal(total, 300);
          seen.push(done);
          if (done > 0) ctl.abort();
        },
      }),
      (e: Error) => e.name === 'LocusError' && /cancelled/.test(e.message),
    );
    assert.equal(seen.length, 2, `progress after the abort: ${seen.join(', ')}`);
    assert.equal(seen[0], 0);
    for (const layers of [[4], [-1], [1, 1], []]) {
      await assert.rejects(computeSecondMoment(tiny, layers, corpus), (e: Error) => e.name === 'LocusError' && /layer/.test(e.message));
    }
  });
});

describe('loadOrComputeSecondMoment cache', () => {
  let model: LoadedModel;
  let dir: string;
  let forwards = 0;
  const corpus: StatsCorpus = corpusFromTextFile(golden('gpt2-tiny-trained', 'stats_corpus.txt'));
  const small = { sampleSize: 80 };
  before(async () => {
    model = await loadModel(golden('gpt2-tiny-trained'));
    dir = tempDir('locus-stats-');
    // Every forward pass asks the session cache for block 0 first (the embedding is gathered in JS).
    const get = model.sessions.get.bind(model.sessions);
    model.sessions.get = (key) => {
      if (key.startsWith('block.0.')) forwards++;
      return get(key);
    };
  });
  after(async () => {
    await model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a second call reads the files; another layer or corpus misses; a damaged file is recomputed', async () => {
    const logs: string[] = [];
    const opts = { ...small, cacheDir: dir, log: (m: string) => logs.push(m) };
    const first = await loadOrComputeSecondMoment(model, [1], corpus, opts);
    const computed = forwards;
    assert.ok(computed > 0);
    const fresh = (await computeSecondMoment(model, [1], corpus, small)).get(1)!;
    assert.ok(maxAbsDiff(first.get(1)!.mom2, fresh.mom2) <= 1e-6, 'cached C is C rounded to float32');

    forwards = 0;
    const second = await loadOrComputeSecondMoment(model, [1], corpus, opts);
    assert.equal(forwards, 0, 'a cache hit runs no forward pass');
    assert.deepEqual(second.get(1)!.mom2, first.get(1)!.mom2, 'same bits whether computed or cached');
    assert.equal(second.get(1)!.count, first.get(1)!.count);

    const both = await loadOrComputeSecondMoment(model, [2, 1], corpus, opts);
    assert.ok(forwards > 0, 'layer 2 is not cached');
    assert.deepEqual([...both.keys()], [2, 1]);
    assert.deepEqual(both.get(1)!.mom2, first.get(1)!.mom2);

    forwards = 0;
    const other: StatsCorpus = { name: corpus.name, texts: corpus.texts.slice(1) };
    await loadOrComputeSecondMoment(model, [1], other, opts);
    assert.ok(forwards > 0, 'a different corpus misses');

    const files = (d: string): string[] => fs.readdirSync(d, { recursive: true, encoding: 'utf8' }).map((f) => path.join(d, f));
    const layer1 = files(dir).filter((f) => /blocks\.1\.mlp\.post.*\.safetensors$/.test(f) && f.includes(corpusSha256(corpus).slice(0, 16)));
    assert.equal(layer1.length, 1);
    fs.truncateSync(layer1[0], fs.statSync(layer1[0]).size - 100);
    forwards = 0;
    logs.length = 0;
    const repaired = await loadOrComputeSecondMoment(model, [1], corpus, opts);
    assert.ok(forwards > 0, 'a truncated file is recomputed');
    assert.ok(logs.some((m) => /^warning: ignoring/.test(m)), logs.join('\n'));
    assert.deepEqual(repaired.get(1)!.mom2, first.get(1)!.mom2);
    forwards = 0;
    await loadOrComputeSecondMoment(model, [1], corpus, opts);
    assert.equal(forwards, 0, 'the rewritten file is a hit again');
    assert.ok(files(dir).every((f) => !f.endsWith('.tmp')), 'no temp files left');
  });

  test('in-memory edits key the entry only when they change the layer\'s keys', async () => {
    const opts = { ...small, cacheDir: dir };
    const scaled = (name: 'blocks.0.mlp.W_out' | 'blocks.1.mlp.W_out') => {
      const t = model.overrides.original(name);
      return { shape: t.shape, data: t.data.map((v) => v * 1.5) };
    };
    try {
      await model.overrides.set('blocks.1.mlp.W_out', scaled('blocks.1.mlp.W_out'));
      forwards = 0;
      const same = await loadOrComputeSecondMoment(model, [1], corpus, opts);
      assert.equal(forwards, 0, "layer 1's own W_out (ROME's edit) does not change layer 1's keys");
      await model.overrides.set('blocks.0.mlp.W_out', scaled('blocks.0.mlp.W_out'));
      const edited = await loadOrComputeSecondMoment(model, [1], corpus, opts);
      assert.ok(forwards > 0, "an edit below layer 1 misses the unedited model's entry");
      assert.ok(maxAbsDiff(edited.get(1)!.mom2, same.get(1)!.mom2) > 1e-4);
    } finally {
      await model.overrides.clear('blocks.0.mlp.W_out');
      await model.overrides.clear('blocks.1.mlp.W_out');
    }
    forwards = 0;
    await loadOrComputeSecondMoment(model, [1], corpus, opts);
    assert.equal(forwards, 0, 'without the edits the original entry is a hit again');
  });
});
