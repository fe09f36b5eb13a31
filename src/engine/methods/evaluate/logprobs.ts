import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import { logSoftmax } from '../../interp/topk';
import type { LoadedModel } from '../../model/model';

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
    const { logits } = await forward(forwardContext(model), chunk.map((c) => c.ids), { logits: 'all', signal });
    const T = Math.max(...chunk.map((c) => c.ids.length));
    chunk.forEach((c, b) => {
      const lps = c.t.map((id, k) => logSoftmax(logits!.data.subarray((b * T + c.p.length - 1 + k) * V, (b * T + c.p.length + k) * V))[id]);
      const first = logits!.data.subarray((b * T + c.p.length - 1) * V, (b * T + c.p.length) * V);
      let argmax = 0;
      for (let v = 1; v < V; v++) if (first[v] > first[argmax]) argmax = v;
      const firstLogprobs = logSoftmax(first);
      out.push({ tokenLogprobs: lps, sum: lps.reduce((a, x) => a + x, 0), firstProb: Math.exp(lps[0]), argmax, argmaxProb: Math.exp(firstLogprobs[argmax]) });
    });
  }
  return out;
}
