import { SessionCache } from '../src/engine/model/sessions';
import type { LoadedModel } from '../src/engine/model/model';
import { runCausalTrace } from '../src/engine/methods/causalTrace/trace';
import { createTokenizer } from '../src/engine/model/tokenizer';
import { gpt2TokenizerJson } from '../src/engine/model/byteLevel';
import { randomModel } from './randomModel';

/**
 * The full grid (3 kinds, W = 10, N = 10) for a 10-token prompt on a GPT-2-small-shaped random model,
 * with a toy one-character-per-token tokenizer so the prompt is exactly 10 tokens. ROME's PyTorch
 * code takes 185 s for this grid on this machine (research/performance.md); the goal is ≤ 9 s.
 */
export async function benchTrace(threads: number): Promise<void> {
  const { config, param } = randomModel();
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const vocab: Record<string, number> = {};
  [...letters].forEach((c, i) => (vocab[c] = i));
  vocab['<|endoftext|>'] = 50256;
  const tokenizer = createTokenizer(gpt2TokenizerJson(vocab, []), {}, 'bench');
  const sessions = new SessionCache(config, param, { threads });
  const model = { config, tokenizer, param, sessions, manifest: { name: 'gpt2-small-random' }, warnings: [], dispose: () => sessions.releaseAll() } as unknown as LoadedModel;
  const prompt = 'abcdefghij';
  for (const [label, subject] of [['subject at 0', 'abc'], ['subject at 2', 'cde']] as const) {
    await runCausalTrace(model, { prompt, subject, kinds: ['hidden'], samples: 2 }); // warm-up: create the sessions
    const t0 = process.hrtime.bigint();
    const r = await runCausalTrace(model, { prompt, subject, kinds: ['hidden', 'mlp', 'attn'], window: 10, samples: 10 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`trace grid (${label}, ${r.cells} cells, ${r.tokens.length} tokens, 3 kinds, W=10, N=10): ${s.toFixed(2)} s — ${(185 / s).toFixed(1)}× ROME's 185 s`);
  }
  await sessions.releaseAll();
}
