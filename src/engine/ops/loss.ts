import type { GraphBuilder } from '../graph/builder';

/**
 * Teacher-forced negative log-likelihood: loss = −Σᵢ wᵢ · log softmax(logitsᵢ)[targetᵢ].
 * logits [rows, d_vocab], targets int64 [rows], weights [rows] (0 masks a row out; 1/n gives the mean).
 * LogSoftmax subtracts the row max first, so large logits do not overflow.
 */
export function nllLoss(g: GraphBuilder, logits: string, targets: string, weights: string, out = 'loss', perRowOut?: string): string {
  const logp = g.node('LogSoftmax', [logits], { axis: -1 }); // [rows, d_vocab]
  const picked = g.node('GatherElements', [logp, g.node('Unsqueeze', [targets, g.int64([-1])])], { axis: 1 }); // [rows, 1]
  // perRowOut names wᵢ · log pᵢ (a graph output where several independent losses share one batch).
  const weighted = g.node('Mul', [g.node('Reshape', [picked, g.int64([-1])]), weights], undefined, perRowOut); // [rows]
  return g.node('Neg', [g.node('ReduceSum', [weighted], { keepdims: 0 })], undefined, out);
}

/**
 * KL(P_cur ‖ P_ref) per row, summed with weights: Σᵢ wᵢ Σᵥ p_cur(v)·(log p_cur(v) − log p_ref(v)).
 * This is ROME's "essence" term: torch's kl_div(ref_logprobs, cur_logprobs, log_target=True).
 * refLogprobs [rows, d_vocab] is a graph input (the unedited model's log-probabilities).
 */
export function klLoss(g: GraphBuilder, logits: string, refLogprobs: string, weights: string, out = 'kl', perRowOut?: string): string {
  const logp = g.node('LogSoftmax', [logits], { axis: -1 });
  const perRow = g.node('ReduceSum', [g.node('Mul', [g.node('Exp', [logp]), g.node('Sub', [logp, refLogprobs])]), g.int64([-1])], { keepdims: 0 });
  return g.node('ReduceSum', [g.node('Mul', [perRow, weights], undefined, perRowOut)], { keepdims: 0 }, out); // perRowOut: wᵢ · KLᵢ [rows]
}
