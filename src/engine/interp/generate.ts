import { seededRandom } from '../train/rng';
import type { LoadedModel } from '../model/model';
import { IncrementalDecoder } from './decode';
import { forward } from './forward';
import { encodePrompt, forwardContext } from './probe';
import type { ForwardContext } from './forward';
import type { Tensor } from '../tensor/tensor';

export interface GenerateOptions {
  /** Total length in tokens, prompt included (ROME's generate_fast max_out_len): one for every row, or each row's own. */
  readonly maxLength: number | readonly number[];
  /** Sample among the k most probable tokens (ROME uses 5); 1 = greedy. */
  readonly topK: number;
  readonly seed: number;
  readonly signal?: AbortSignal;
}

/**
 * The k largest entries' indices, largest first, ties in index order: the first k of a stable sort by
 * value, descending, without sorting the whole vocabulary (a sort per row and token cost more than the
 * forward pass on small models).
 */
export function topKIndices(row: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (top.length === k && !(v > row[top[k - 1]])) continue;
    // After every kept index whose value is ≥ v: equal values keep index order, as a stable sort's.
    let at = top.length;
    while (at > 0 && row[top[at - 1]] < v) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
}

/**
 * Top-k sampling, one token at a time for a batch of prompts. Rows of different lengths share each
 * step (each row's logits are read at its own last token). Deterministic for a seed: each step draws
 * once per unfinished row, in row order. Returns each row's ids, prompt included; a row stops at its
 * maximum length or at <|endoftext|>. Decodes incrementally with a key/value cache (interp/decode.ts);
 * `cache: false` re-runs every row's whole prefix at each step instead (the reference the cache is
 * tested against: the same tokens up to float error).
 */
export async function generate(ctx: ForwardContext, prompts: readonly (readonly number[])[], o: GenerateOptions & { readonly cache?: boolean }): Promise<number[][]> {
  if (o.cache === false) {
    return sampleRows(ctx, prompts, o, async (active, rows) => (await forward(ctx, active.map((i) => rows[i]), { signal: o.signal })).logits!.data); // [active, d_vocab]
  }
  const decoder = new IncrementalDecoder(ctx);
  return continueRows(decoder, prompts.map(() => decoder.addRow()), prompts, o);
}

/**
 * `generate` on rows of a decoder: row `rowIds[i]` holds a prefix of `prompts[i]` (its tokens are
 * computed once). `first`: when the decoder already holds every prompt, the logits after each
 * ([prompts, d_vocab], from the call that computed them), so the first step runs nothing.
 */
export async function continueRows(decoder: IncrementalDecoder, rowIds: readonly number[], prompts: readonly (readonly number[])[], o: GenerateOptions, first?: Tensor): Promise<number[][]> {
  const V = first?.shape[1] ?? 0;
  let pending = first;
  return sampleRows(decoder.context, prompts, o, async (active, rows) => {
    if (pending) {
      const given = pending.data;
      pending = undefined;
      const out = new Float32Array(active.length * V);
      active.forEach((i, k) => out.set(given.subarray(i * V, (i + 1) * V), k * V));
      return out;
    }
    const fresh = active.map((i) => rows[i].slice(decoder.tokens(rowIds[i]).length));
    return (await decoder.extend(active.map((i) => rowIds[i]), fresh, { signal: o.signal })).data; // [active, d_vocab]
  });
}

/** The sampling loop: `logitsOf(active, rows)` gives the logits after each active row's last token, [active, d_vocab]. */
async function sampleRows(ctx: ForwardContext, prompts: readonly (readonly number[])[], o: GenerateOptions, logitsOf: (active: number[], rows: number[][]) => Promise<Float32Array>): Promise<number[][]> {
  const rand = seededRandom(o.seed);
  const rows = prompts.map((p) => [...p]);
  const done = rows.map(() => false);
  const V = ctx.config.d_vocab;
  const maxLength = (i: number): number => (typeof o.maxLength === 'number' ? o.maxLength : o.maxLength[i]);
  for (;;) {
    const active = rows.map((r, i) => i).filter((i) => !done[i] && rows[i].length < maxLength(i));
    if (active.length === 0) return rows;
    const logits = await logitsOf(active, rows);
    active.forEach((i, k) => {
      const pick = sampleTopK(logits.subarray(k * V, (k + 1) * V), o.topK, rand);
      rows[i].push(pick);
      if (pick === ctx.padId) done[i] = true;
    });
  }
}

/** One draw among the k most probable entries of a logits row, weighted by exp(logit − max) (one `rand()` per call). */
function sampleTopK(row: Float32Array, k: number, rand: () => number): number {
  const order = topKIndices(row, k);
  const max = row[order[0]];
  const w = order.map((id) => Math.exp(row[id] - max));
  const total = w.reduce((a, b) => a + b, 0);
  let x = rand() * total;
  for (let j = 0; j < order.length; j++) {
    x -= w[j];
    if (x <= 0) return order[j];
  }
  return order[order.length - 1];
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
