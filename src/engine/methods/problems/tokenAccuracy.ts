/**
 * Teacher-forced scoring with the argmax at every target position: the log-probabilities the seed
 * paper's scores use (identical to evaluate/logprobs.ts targetLogprobs: same batches, same padding,
 * same log-softmax) plus what EasyEdit's token accuracy needs from the same forward (zjunlp/EasyEdit
 * easyeditor/evaluate/evaluate_utils.py test_prediction_acc: the argmax token at each target position
 * given the gold prefix).
 */
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import { logSumExp } from '../../interp/topk';
import { argmaxOf, logitsRow } from '../evaluate/rowScores';

export interface TeacherForced {
  /** log p(target token k | prompt, target tokens < k). */
  readonly tokenLogprobs: number[];
  readonly sum: number;
  /** The target's token ids (with the leading space ROME adds). */
  readonly targetIds: number[];
  /** The most probable token at each target position, given the gold prefix. */
  readonly argmaxIds: number[];
}

/** Fraction of target tokens that are the argmax given the gold prefix (EasyEdit's rewrite_acc for one prompt). */
export function tokenAccuracy(t: Pick<TeacherForced, 'targetIds' | 'argmaxIds'>): number {
  if (t.targetIds.length === 0) return NaN;
  return t.targetIds.filter((id, k) => t.argmaxIds[k] === id).length / t.targetIds.length;
}

/**
 * Fraction of positions where two argmax sequences agree: EasyEdit's locality (compute_locality_quality
 * compares the edited model's argmax tokens with the unedited model's on the neighborhood prompt,
 * teacher-forced on its ground truth).
 */
export function argmaxAgreement(before: readonly number[], after: readonly number[]): number {
  if (before.length === 0 || before.length !== after.length) return NaN;
  return before.filter((id, k) => after[k] === id).length / before.length;
}

/** `targetLogprobs` with the argmax at every target position; prompts are complete strings. */
export async function teacherForced(model: LoadedModel, pairs: ReadonlyArray<{ prompt: string; target: string }>, signal?: AbortSignal, batchSize = 32): Promise<TeacherForced[]> {
  const tok = model.tokenizer;
  const V = model.config.d_vocab;
  const out: TeacherForced[] = [];
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
      const lps = c.t.map((id, k) => rows[k][id] - logSumExp(rows[k]));
      out.push({ tokenLogprobs: lps, sum: lps.reduce((a, x) => a + x, 0), targetIds: c.t, argmaxIds: rows.map(argmaxOf) });
    }
  }
  return out;
}
