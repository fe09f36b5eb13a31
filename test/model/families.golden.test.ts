import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as path from 'node:path';
import { exportModel, forward, forwardContext, loadModel } from '../../src/engine/index';
import type { ActName, LoadedModel } from '../../src/engine/index';
import { adapterFor } from '../../src/engine/model/arch/index';
import { runCausalTrace } from '../../src/engine/methods/causalTrace/trace';
import type { TraceKind, TraceResult } from '../../src/engine/methods/causalTrace/types';
import { maxAbsDiff } from '../helpers/assertClose';
import { golden, tempDir } from '../helpers/paths';

/**
 * Parity of the Llama family and GPT-NeoX with float32 references computed from the stored (rounded)
 * weights (../shared/golden/README.md, "Llama family and GPT-NeoX"): logits and every recorded
 * activation within 1e-4 absolute, Causal Tracing scores within 1e-4. The measured worst error is
 * printed with each check (`# max |diff|`) so a drift shows before it fails.
 */
const ATOL = 1e-4;

interface GoldenPrompt {
  prompt: string;
  input_ids: number[];
  logits_last: number[];
  hidden?: Record<string, number[][]>;
}

interface GoldenTrace {
  prompt: string;
  subject: string;
  samples: number;
  add_bos: boolean;
  input_ids: number[];
  subject_range: [number, number];
  answer_id: number;
  noise: { level: number };
  runs: Array<{ kind: 'mlp' | 'attn' | null; window: number | null; scores: number[][]; low_score: number; high_score: number }>;
}

const FAMILIES = ['llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'neox'];

function within(got: ArrayLike<number>, want: ArrayLike<number>, what: string): number {
  const d = maxAbsDiff(got, want);
  assert.ok(d <= ATOL, `${what}: max |diff| ${d} > ${ATOL}`);
  return d;
}

for (const family of FAMILIES) {
  const name = `${family}-tiny-random`;
  const ref = JSON.parse(fs.readFileSync(golden(name, 'forward.json'), 'utf8')) as { model_type: string; add_bos: boolean; prompts: GoldenPrompt[] };

  describe(`${name} forward parity`, () => {
    let model: LoadedModel;
    before(async () => (model = await loadModel(golden(name))));
    after(async () => model.dispose());

    test('config is read as the family', () => {
      assert.equal(model.config.modelType, ref.model_type);
      assert.equal(ref.add_bos, false);
    });

    test('last-position logits of each prompt, alone and in a right-padded batch', async (t) => {
      let worst = 0;
      for (const p of ref.prompts) {
        const { logits } = await forward(forwardContext(model), [p.input_ids]);
        worst = Math.max(worst, within(logits!.data, p.logits_last, `logits "${p.prompt}"`));
      }
      const batch = ref.prompts.map((p) => p.input_ids);
      assert.ok(new Set(batch.map((b) => b.length)).size > 1, 'prompts differ in length');
      const { logits } = await forward(forwardContext(model), batch);
      const V = model.config.d_vocab;
      ref.prompts.forEach((p, i) => (worst = Math.max(worst, within(logits!.data.subarray(i * V, (i + 1) * V), p.logits_last, `batched row ${i}`))));
      t.diagnostic(`max |diff| logits ${worst}`);
    });

    test('every recorded activation of the first prompt, and its logits at every position agree with the last', async (t) => {
      const p = ref.prompts[0];
      const names = Object.keys(p.hidden!) as ActName[];
      assert.ok(names.length >= 4 * model.config.n_layers + 2, `golden records ${names.length} activations`);
      const { acts, logits } = await forward(forwardContext(model), [p.input_ids], { fetch: names, logits: 'all' });
      let worst = 0;
      for (const n of names) {
        const got = acts.get(n);
        assert.ok(got, `activation ${n} was not returned`);
        worst = Math.max(worst, within(got.data, p.hidden![n].flat(), n));
      }
      const V = model.config.d_vocab;
      const T = p.input_ids.length;
      const last = within(logits!.data.subarray((T - 1) * V, T * V), p.logits_last, 'all-position logits, last row');
      t.diagnostic(`max |diff| activations ${worst}, all-position logits (last row) ${last}`);
    });
  });
}

describe('export → reload is the identity on every parameter, in each family\'s HF layout', () => {
  for (const family of FAMILIES) {
    test(`${family}-tiny-random`, async () => {
      const tmp = tempDir('locus-families-export-');
      const src = await loadModel(golden(`${family}-tiny-random`));
      try {
        exportModel(src, path.join(tmp, 'out'));
        const copy = await loadModel(path.join(tmp, 'out'));
        try {
          assert.deepEqual(copy.warnings, []);
          const names = adapterFor(src.config.modelType).paramNames(src.config);
          assert.ok(names.length > 10);
          for (const n of names) assert.deepEqual(copy.param(n).data, src.param(n).data, n);
        } finally {
          await copy.dispose();
        }
      } finally {
        await src.dispose();
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  }
});

for (const family of ['llama', 'neox']) {
  const name = `${family}-tiny-random`;
  describe(`${name} causal trace parity (trace_space_needle.json)`, () => {
    const ref = JSON.parse(fs.readFileSync(golden(name, 'trace_space_needle.json'), 'utf8')) as GoldenTrace;
    const windows = [...new Set(ref.runs.map((r) => r.window ?? 10))];
    let model: LoadedModel;
    const results = new Map<number, TraceResult>();
    before(async () => {
      model = await loadModel(golden(name));
      for (const window of windows) {
        const kinds: TraceKind[] = [...new Set(ref.runs.filter((r) => (r.window ?? 10) === window).map((r) => r.kind ?? 'hidden'))];
        results.set(window, await runCausalTrace(model, { prompt: ref.prompt, subject: ref.subject, samples: ref.samples, window, kinds }));
      }
    });
    after(async () => model.dispose());

    test('tokens (no BOS), subject range, answer, noise level, high and low scores', () => {
      assert.equal(ref.add_bos, false);
      const r = results.get(windows[0])!;
      assert.deepEqual(r.ids, ref.input_ids);
      assert.deepEqual(r.subjectRange, ref.subject_range);
      assert.equal(r.answer.id, ref.answer_id);
      assert.ok(Math.abs(r.noiseLevel - ref.noise.level) <= 1e-6 * ref.noise.level, `noise ${r.noiseLevel} vs ${ref.noise.level}`);
      assert.ok(Math.abs(r.highScore - ref.runs[0].high_score) <= ATOL, `high ${r.highScore} vs ${ref.runs[0].high_score}`);
      assert.ok(Math.abs(r.lowScore - ref.runs[0].low_score) <= ATOL, `low ${r.lowScore} vs ${ref.runs[0].low_score}`);
    });

    for (const run of ref.runs) {
      const kind: TraceKind = run.kind ?? 'hidden';
      const window = run.window ?? 10;
      test(`every ${kind} score${run.kind ? ` (window ${window})` : ''}`, (t) => {
        const grid = results.get(window)!.grids[kind]!;
        assert.equal(grid.scores.length, run.scores.length);
        const d = maxAbsDiff(grid.scores.flat(), run.scores.flat());
        t.diagnostic(`max |diff| ${kind} w${window} ${d}`);
        assert.ok(d <= ATOL, `max |diff| ${d}`);
      });
    }
  });
}

// Editing every family (ROME, MEMIT, FT-1, FT-5; direction and bit-exact revert): familiesEdit.test.ts.
