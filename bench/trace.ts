import { runCausalTrace } from '../src/engine/methods/causalTrace/trace';
import { fakeGpt2Small } from './fakeModel';

/**
 * The full grid (3 kinds, W = 10, N = 10) for a 10-token prompt on a GPT-2-small-shaped random model,
 * with a toy one-character-per-token tokenizer so the prompt is exactly 10 tokens. ROME's PyTorch
 * code takes 185 s for this grid on this machine (research/performance.md); the goal is ≤ 9 s.
 */
export async function benchTrace(threads: number): Promise<void> {
  const model = fakeGpt2Small(threads);
  const prompt = 'abcdefghij';
  // The random model's argmax is outside the toy vocabulary: each grid traces a fixed answer (scored on its first token, as ROME).
  const request = (subject: string) => ({ prompt, subject, kinds: ['hidden', 'mlp', 'attn'] as const, window: 10, samples: 10, target: 'b' });
  for (const [label, subject] of [['subject at 0', 'abc'], ['subject at 2', 'cde']] as const) {
    // The first grid also creates the block sessions and grows ORT's memory arenas; the second is the steady state.
    for (const run of ['first', 'warm']) {
      const t0 = process.hrtime.bigint();
      const r = await runCausalTrace(model, { ...request(subject), kinds: [...request(subject).kinds] });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`trace grid ${run.padEnd(5)} (${label}, ${r.cells} cells, ${r.tokens.length} tokens, 3 kinds, W=10, N=10): ${s.toFixed(2)} s — ${(185 / s).toFixed(1)}× ROME's 185 s`);
    }
  }
  await model.dispose();
}
