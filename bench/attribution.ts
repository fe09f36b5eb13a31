import * as path from 'node:path';
import { loadModel } from '../src/engine/index';
import { prepareAttributionSession } from '../src/engine/methods/causalTrace/answerGradients';
import { attributionPreview, gridCorrelation } from '../src/engine/methods/causalTrace/attribution';
import type { AttributionMetric } from '../src/engine/methods/causalTrace/attribution';
import { runCausalTrace } from '../src/engine/methods/causalTrace/trace';
import type { TraceKind, TraceResult } from '../src/engine/methods/causalTrace/types';
import type { LoadedModel } from '../src/engine/model/model';
import { fakeGpt2Small } from './fakeModel';

const KINDS: TraceKind[] = ['hidden', 'mlp', 'attn'];

async function seconds<T>(run: () => Promise<T>): Promise<{ s: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await run();
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

/** Pearson r per kind between a preview and the exact grid (cells from the first subject token on, as the trace runs them). */
async function correlations(model: LoadedModel, req: { prompt: string; subject: string; target?: string }, exact: TraceResult): Promise<string> {
  const parts: string[] = [];
  for (const metric of ['prob', 'logprob'] as AttributionMetric[]) {
    const prev = await attributionPreview(model, { ...req, kinds: KINDS, window: 10, metric });
    parts.push(`${metric}: ` + KINDS.map((k) => `${k} r=${gridCorrelation(prev.grids[k]!.scores, exact.grids[k]!.scores, exact.subjectRange[0]).toFixed(3)}`).join(', '));
  }
  return parts.join('; ');
}

/**
 * `npm run bench -- attribution` (issue 19 item 4): the attribution preview of the full causal-trace
 * grid (3 kinds, W = 10) against the exact grid (N = 10 samples).
 * Timing: bench/trace.ts's model — GPT-2-small-shaped, random weights, toy one-letter tokenizer, a
 * 10-token prompt — first preview (creates the all-sites objective session) and warm; acceptance:
 * warm ≤ 0.5 s. A random model's grid is noise (nothing is localized), so its r says little; the
 * informative r is on the trained golden gpt2-facts-trained (6 layers, d 64) with ROME's Eiffel request.
 * LOCUS_BENCH_LAYERS=N runs N GPT-2-small blocks (peak memory: about 4.5 GB at 12 layers, the
 * objective graph bakes a second copy of the weights).
 */
export async function benchAttribution(threads: number): Promise<void> {
  const what = `${threads} thread${threads > 1 ? 's' : ''}`;
  const layers = Number(process.env.LOCUS_BENCH_LAYERS ?? 12);
  const model = fakeGpt2Small(threads, layers);
  const req = { prompt: 'abcdefghij', subject: 'abc', target: 'b' };
  // The random weights are generated on first read: a real model reads them at load, so that is not timed.
  for (let l = 0; l < layers; l++) model.sessions.graph(`block.${l}.lean`);
  model.sessions.graph('unembed');
  const session = await seconds(() => prepareAttributionSession(model));
  const first = await seconds(() => attributionPreview(model, { ...req, kinds: KINDS, window: 10 }));
  const warm = await seconds(() => attributionPreview(model, { ...req, kinds: KINDS, window: 10 }));
  const warm2 = await seconds(() => attributionPreview(model, { ...req, subject: 'cde', kinds: KINDS, window: 10 }));
  const exact = await seconds(() => runCausalTrace(model, { ...req, kinds: KINDS, window: 10, samples: 10 }));
  const exactWarm = await seconds(() => runCausalTrace(model, { ...req, kinds: KINDS, window: 10, samples: 10 }));
  console.log(`attribution session (prepareAttributionSession, GPT-2 small random, ${layers} layers, ${what}): ${session.s.toFixed(2)} s`);
  console.log(`attribution preview first (10 tokens, 3 kinds, W=10; creates the block and head sessions): ${first.s.toFixed(3)} s`);
  console.log(`attribution preview warm  (subject at 0): ${warm.s.toFixed(3)} s (goal ≤ 0.5 s); subject at 2: ${warm2.s.toFixed(3)} s`);
  console.log(`exact grid (N=10) first ${exact.s.toFixed(2)} s, warm ${exactWarm.s.toFixed(2)} s — warm exact / warm preview: ${(exactWarm.s / warm.s).toFixed(1)}×`);
  console.log(`  Pearson r, random GPT-2 small (uninformative model): ${await correlations(model, req, exactWarm.value)}`);
  await model.dispose();

  const facts = await loadModel(path.join(process.env.LOCUS_SHARED ?? path.resolve(__dirname, '..', '..', '..', 'shared'), 'golden', 'gpt2-facts-trained'));
  const eiffel = { prompt: 'The Eiffel Tower is located in the city of', subject: 'The Eiffel Tower' };
  const factsExact = await runCausalTrace(facts, { ...eiffel, kinds: KINDS, window: 10, samples: 10 });
  const factsPrev = await seconds(() => attributionPreview(facts, { ...eiffel, kinds: KINDS, window: 10 }));
  console.log(`  Pearson r, gpt2-facts-trained Eiffel (${factsExact.ids.length} tokens; first preview ${factsPrev.s.toFixed(3)} s incl. its session, exact ${factsExact.seconds.toFixed(2)} s): ${await correlations(facts, eiffel, factsExact)}`);
  await facts.dispose();
}
