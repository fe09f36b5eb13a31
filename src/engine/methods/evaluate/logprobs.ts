import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import { logSumExp } from '../../interp/topk';
import { argmaxOf, logitsRow } from './rowScores';

export interface TargetLogprob {
  readonly tokenLogprobs: number[];
  /** Σ log p(target token | prompt, earlier target tokens): ROME's teacher-forced evaluation. */
  readonly sum: number;
  /** The target's first token probability. */
  readonly firstProb: number;
  /** The most probable token after the prompt, and its probability. */
  readonly argmax: number;
  readonly argmaxProb: number;
}

/**
 * Teacher-forced log-probabilities of `target` (with a leading space added when missing, as ROME
 * does) after each prompt, batched. Prompts here are complete strings (subject already filled in).
 */
export async function targetLogprobs(model: LoadedModel, pairs: ReadonlyArray<{ prompt: string; target: string }>, signal?: AbortSignal, batchSize = 32): Promise<TargetLogprob[]> {
  const tok = model.tokenizer;
  const V = model.config.d_vocab;
  const out: TargetLogprob[] = [];
  for (let i = 0; i < pairs.length; i += batchSize) {
    const chunk = pairs.slice(i, i + batchSize).map(({ prompt, target }) => {
      const p = tok.encode(prompt).ids;
      const t = tok.encodeContinuation(/^\s/.test(target) ? target : ' ' + target).ids;
      return { p, t, ids: [...p, ...t.slice(0, -1)] };
    });
    // The head only where a target token is predicted: row b's positions p−1 … p+t−2.
    const logitsAt = chunk.map((c) => c.t.map((_, k) => c.p.length - 1 + k));
    const { logits } = await forward(forwardContext(model), chunk.map((c) => c.ids), { logitsAt, signal }); // [Σ targets, d_vocab]
    let r = 0;
    for (const c of chunk) {
      const rows = c.t.map(() => logitsRow(logits!.data, r++, V)); // [d_vocab] each
      const lse = rows.map(logSumExp);
      const lps = c.t.map((id, k) => rows[k][id] - lse[k]);
      const argmax = argmaxOf(rows[0]);
      out.push({ tokenLogprobs: lps, sum: lps.reduce((a, x) => a + x, 0), firstProb: Math.exp(lps[0]), argmax, argmaxProb: Math.exp(rows[0][argmax] - lse[0]) });
    }
  }
  return out;
}
