/**
 * Scores read from one logits row without a whole-vocabulary array per position: teacher-forced
 * scoring reads one entry of log-softmax(row) and the argmax, so it needs the row's log-sum-exp only
 * (interp/topk.ts logSumExp).
 */

/** Index of the largest entry (the first one on ties). */
export function argmaxOf(row: ArrayLike<number>): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

/** Row `r` of a [rows, d_vocab] logits tensor's data. */
export const logitsRow = (data: Float32Array, r: number, V: number): Float32Array => data.subarray(r * V, (r + 1) * V);
