import { seededRandom } from '../train/rng';
import type { LoadedModel } from '../model/model';
import { forward } from './forward';
import { encodePrompt, forwardContext } from './probe';
import type { ForwardContext } from './forward';

export interface GenerateOptions {
  /** Total length in tokens, prompt included (ROME's generate_fast max_out_len). */
  readonly maxLength: number;
  /** Sample among the k most probable tokens (ROME uses 5); 1 = greedy. */
  readonly topK: number;
  readonly seed: number;
  readonly signal?: AbortSignal;
}

/**
 * Top-k sampling, one token at a time for a batch of prompts (no cache: the texts are short —
 * context templates and short completions). Deterministic for a seed. Returns each row's ids,
 * prompt included; a row stops at <|endoftext|>.
 */
export async function generate(ctx: ForwardContext, prompts: readonly (readonly number[])[], o: GenerateOptions): Promise<number[][]> {
  const rand = seededRandom(o.seed);
  const rows = prompts.map((p) => [...p]);
  const done = rows.map(() => false);
  const V = ctx.config.d_vocab;
  while (rows.some((r, i) => !done[i] && r.length < o.maxLength)) {
    const active = rows.map((r, i) => i).filter((i) => !done[i] && rows[i].length < o.maxLength);
    const { logits } = await forward(ctx, active.map((i) => rows[i]), { signal: o.signal });
    active.forEach((i, k) => {
      const row = logits!.data.subarray(k * V, (k + 1) * V);
      const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, o.topK);
      const max = row[order[0]];
      const w = order.map((id) => Math.exp(row[id] - max));
      const total = w.reduce((a, b) => a + b, 0);
      let x = rand() * total;
      let pick = order[order.length - 1];
      for (let j = 0; j < order.length; j++) {
        x -= w[j];
        if (x <= 0) {
          pick = order[j];
          break;
        }
      }
      rows[i].push(pick);
      if (pick === ctx.padId) done[i] = true;
    });
  }
  return rows;
}

/** A prompt's continuation as text (the prompt excluded), for the panels' before/after generations. */
export async function generateText(
  model: LoadedModel,
  prompt: string,
  o: { maxNewTokens: number; topK: number; seed: number; signal?: AbortSignal },
): Promise<{ text: string; tokens: string[] }> {
  const { ids } = encodePrompt(model, prompt);
  const maxLength = Math.min(model.config.n_ctx, ids.length + o.maxNewTokens);
  const [row] = await generate(forwardContext(model), [ids], { maxLength, topK: o.topK, seed: o.seed, signal: o.signal });
  const added = row.slice(ids.length).filter((id) => id !== model.config.eosTokenId);
  return { text: model.tokenizer.decode(added), tokens: added.map((id) => model.tokenizer.tokenText(id)) };
}
