/**
 * Scores read from one logits row without a whole-vocabulary array per position: teacher-forced
 * scoring reads one entry of log-softmax(row) and the argmax, so it needs the row's log-sum-exp only.
 */

/**
 * log Σ exp(row), with the max subtracted and float64 accumulation in the same order as
 * interp/topk.ts logSoftmax, so `row[id] - logSumExp(row)` equals `logSoftmax(row)[id]` bit for bit.
 */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum);
}

/** Index of the largest entry (the first one on ties). */
export function argmaxOf(row: ArrayLike<number>): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

/** Row `r` of a [rows, d_vocab] logits tensor's data. */
export const logitsRow = (data: Float32Array, r: number, V: number): Float32Array => data.subarray(r * V, (r + 1) * V);
