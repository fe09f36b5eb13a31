import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { runCausalTrace } from '../../src/engine/methods/causalTrace/trace';
import type { TraceKind, TraceResult } from '../../src/engine/methods/causalTrace/types';
import { golden } from '../helpers/paths';

/**
 * Parity with ROME's calculate_hidden_flow (golden/README.md): every score, the low and high score
 * within 1e-4 absolute; the noise level within 1e-6 relative; for every kind and windows 10 and 5.
 */
interface GoldenTrace {
  prompt: string;
  subject: string;
  samples: number;
  input_ids: number[];
  subject_range: [number, number];
  answer_id: number;
  clean_prob: number;
  noise: { level: number };
  runs: Array<{ kind: 'mlp' | 'attn' | null; window: number | null; scores: number[][]; low_score: number; high_score: number }>;
}

const CASES: Array<[string, string]> = [
  ['gpt2-tiny-trained', 'trace_space_needle.json'],
  ['gpt2-facts-trained', 'trace_eiffel.json'],
];

for (const [name, file] of CASES) {
  describe(`causal trace parity: ${name} ${file}`, () => {
    const ref = JSON.parse(fs.readFileSync(golden(name, file), 'utf8')) as GoldenTrace;
    let model: LoadedModel;
    const results = new Map<number, TraceResult>();
    before(async () => {
      model = await loadModel(golden(name));
      for (const window of [10, 5]) {
        results.set(window, await runCausalTrace(model, { prompt: ref.prompt, subject: ref.subject, samples: ref.samples, window, kinds: window === 10 ? ['hidden', 'mlp', 'attn'] : ['mlp', 'attn'] }));
      }
    });
    after(async () => model.dispose());

    test('tokens, subject range, answer, noise level, high and low scores', () => {
      const r = results.get(10)!;
      assert.deepEqual(r.ids, ref.input_ids);
      assert.deepEqual(r.subjectRange, ref.subject_range);
      assert.equal(r.answer.id, ref.answer_id);
      assert.ok(Math.abs(r.noiseLevel - ref.noise.level) <= 1e-6 * ref.noise.level, `noise ${r.noiseLevel} vs ${ref.noise.level}`);
      assert.ok(Math.abs(r.highScore - ref.runs[0].high_score) <= 1e-4, `high ${r.highScore}`);
      assert.ok(Math.abs(r.lowScore - ref.runs[0].low_score) <= 1e-4, `low ${r.lowScore}`);
    });

    for (const run of ref.runs) {
      const kind: TraceKind = run.kind ?? 'hidden';
      const window = run.window ?? 10;
      test(`every ${kind} score${run.kind ? ` (window ${window})` : ''}`, () => {
        const grid = results.get(window)!.grids[kind]!;
        assert.equal(grid.scores.length, run.scores.length);
        let worst = 0;
        let at = '';
        run.scores.forEach((row, t) =>
          row.forEach((want, l) => {
            const d = Math.abs(grid.scores[t][l] - want);
            if (d > worst) [worst, at] = [d, `t=${t} l=${l} got ${grid.scores[t][l]} want ${want}`];
          }),
        );
        assert.ok(worst <= 1e-4, `max |diff| ${worst} at ${at}`);
      });
    }
  });
}
