import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { frobenius } from '../../src/engine/methods/edit/edits';
import { computeMemit, MEMIT_GPT2_XL, mergeMemitHparams } from '../../src/engine/methods/memit/index';
import { mergeRomeHparams, ROME_GPT2_XL } from '../../src/engine/methods/rome/hparams';
import { computeRome } from '../../src/engine/methods/rome/index';
import { corpusFromTextFile } from '../../src/engine/methods/stats/corpus';
import { computeSecondMoment } from '../../src/engine/methods/stats/secondMoment';
import { loadOrComputeSecondMoment } from '../../src/engine/methods/stats/statsCache';
import { relFrobenius } from '../helpers/assertClose';
import { golden, tempDir } from '../helpers/paths';

/**
 * Issue 17's acceptance: "a ROME-format .npz written by ROME's own code for a golden model gives the
 * same edit as computing C". The files under golden gpt2-facts-trained/rome_stats were written by
 * kmeng01/rome's layer_stats over stats_corpus.txt; read through `--stats-dir` (statsCache.ts →
 * publishedStats.ts), ROME's rome_eiffel and MEMIT's memit_two edits must match their goldens at the
 * golden tests' tolerances (rome.golden.test.ts: u, v, v* 2e-3 relative, ‖ΔW‖ 1e-3; memit.golden.test.ts:
 * z 2e-3, ΔW 1e-3 relative Frobenius), and nothing may be computed (no corpus is even built).
 */
const MODEL = 'gpt2-facts-trained';
const STATS = golden(MODEL, 'rome_stats');
const statsFile = (l: number): string => path.join(STATS, 'wikipedia_stats', `transformer.h.${l}.mlp.c_proj_float32_mom2_100000.npz`);

describe('ROME and MEMIT with ROME-format published statistics (--stats-dir)', () => {
  let model: LoadedModel;
  let cache: string;
  const notes: string[] = [];
  const noCorpus = (): never => {
    throw new Error('the corpus was asked for: statistics were computed instead of read');
  };
  const published = async (l: number): Promise<Float64Array> => {
    const m = await loadOrComputeSecondMoment(model, [l], noCorpus, { cacheDir: cache, statsDir: STATS, readOnlyDirs: [], sampleSize: 100000, log: (s) => notes.push(s) });
    return m.get(l)!.mom2;
  };
  before(async () => {
    model = await loadModel(golden(MODEL));
    cache = tempDir('locus-published-');
  });
  after(async () => {
    await model.dispose();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  test('ROME rome_eiffel: u, v, v* and ΔW equal the golden edit; the note names the file and its count', async () => {
    const ref = JSON.parse(fs.readFileSync(golden(MODEL, 'rome_eiffel.json'), 'utf8')) as {
      request: { request: { prompt: string; subject: string; target_new: { str: string }; target_true: { str: string } } };
      hparams: Record<string, unknown>;
      context_templates: string[];
      edits: Array<{ u: number[]; v: number[]; v_star_target: number[]; delta_w_fro: number }>;
    };
    const { hparams } = mergeRomeHparams(ROME_GPT2_XL, ref.hparams);
    const res = await computeRome(model, ref.request.request, { hparams, contextTemplates: ref.context_templates, secondMoment: published });
    const got = res.details[0];
    const want = ref.edits[0];
    for (const [what, a, b] of [['u', got.u, want.u], ['v*', got.vStar, want.v_star_target], ['v', got.v, want.v]] as const) {
      const err = relFrobenius(a, b);
      console.log(`# ${what}: relative error ${err.toExponential(2)}`);
      assert.ok(err <= 2e-3, `${what}: relative error ${err.toExponential(3)} > 2e-3`);
    }
    const fro = frobenius(res.edit.deltas[0]);
    assert.ok(Math.abs(fro - want.delta_w_fro) <= 1e-3 * want.delta_w_fro, `‖ΔW‖ ${fro} vs ${want.delta_w_fro}`);
    assert.ok(notes.some((n) => n.startsWith('note: layer 1: key statistics read from ') && n.includes(statsFile(1)) && n.includes('40413 tokens') && n.includes('sample_size 100000')), notes.join('\n'));
    assert.deepEqual(fs.readdirSync(cache), [], 'published statistics are not copied into the cache');
  });

  test('MEMIT memit_two: z and ΔW at layers 1 and 2 equal the golden edit', async () => {
    const ref = JSON.parse(fs.readFileSync(golden(MODEL, 'memit_two.json'), 'utf8')) as {
      request: { requests: Array<{ prompt: string; subject: string; target_new: { str: string }; target_true: { str: string } }> };
      hparams: Record<string, unknown>;
      context_templates: string[][];
      z: number[][];
      layers: Array<{ layer: number; delta_w: number[][]; delta_w_fro: number }>;
    };
    const hparams = mergeMemitHparams(MEMIT_GPT2_XL, ref.hparams).hparams;
    assert.deepEqual(hparams.layers, [1, 2]);
    const res = await computeMemit(model, ref.request.requests, { hparams, contextTemplates: ref.context_templates, secondMoment: published });
    ref.z.forEach((want, r) => {
      const err = relFrobenius(res.zs[r], want);
      assert.ok(err <= 2e-3, `z[${r}]: relative error ${err.toExponential(3)} > 2e-3`);
    });
    ref.layers.forEach((want, i) => {
      const d = res.edit.deltas[i];
      assert.ok(d.kind === 'dense');
      const err = relFrobenius(d.delta, want.delta_w.flat());
      console.log(`# layer ${want.layer} ΔW: relative Frobenius error ${err.toExponential(2)}`);
      assert.ok(err <= 1e-3, `layer ${want.layer} ΔW: relative error ${err.toExponential(3)} > 1e-3`);
      assert.ok(Math.abs(frobenius(d) - want.delta_w_fro) <= 1e-3 * want.delta_w_fro);
    });
    assert.ok(notes.some((n) => n.includes(statsFile(2))), 'layer 2 read from its file');
  });

  test("the file's C equals the engine's layer_stats over the same corpus to float32 rounding", async () => {
    const corpus = corpusFromTextFile(golden(MODEL, 'stats_corpus.txt'));
    const computed = await computeSecondMoment(model, [1, 2], corpus);
    for (const l of [1, 2]) {
      const file = await published(l);
      const mine = computed.get(l)!;
      assert.equal(mine.count, 40413);
      const err = relFrobenius(file, mine.mom2);
      console.log(`# layer ${l}: ‖C_file − C_engine‖/‖C_engine‖ = ${err.toExponential(2)}`);
      assert.ok(err <= 1e-6, `layer ${l}: ${err}`);
    }
  });

  test('a layer without a file falls back to the cache (computed), and the notes say so', async () => {
    const corpus = corpusFromTextFile(golden(MODEL, 'stats_corpus.txt'));
    const lines: string[] = [];
    const m = await loadOrComputeSecondMoment(model, [0, 1], corpus, { cacheDir: cache, statsDir: STATS, readOnlyDirs: [], log: (s) => lines.push(s) });
    assert.equal(m.get(1)!.count, 40413);
    assert.equal(m.get(0)!.count, 40413);
    assert.ok(lines.some((s) => /^note: layer 0: no ROME\/MEMIT statistics file for it in /.test(s)), lines.join('\n'));
    assert.ok(lines.some((s) => /computing statistics for layer 0 /.test(s)), lines.join('\n'));
    assert.ok(fs.readdirSync(cache).length > 0, 'the computed layer was cached');
  });
});
