/** One candidate next token. `logprob` is the natural log of `prob` (log-softmax over the vocabulary). */
export interface TokenProb {
  readonly id: number;
  readonly prob: number;
  readonly logprob: number;
}

/**
 * log Σ exp(row), the max subtracted, float64 accumulation: `row[id] − logSumExp(row)` is one entry of
 * logSoftmax(row) bit for bit, without a whole-vocabulary array (teacher-forced scoring reads one).
 */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum);
}

/** Numerically stable log-softmax of one row (float64 accumulation). */
export function logSoftmax(logits: Float32Array): Float64Array {
  const lse = logSumExp(logits);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/** The k most probable next tokens of one logits row, highest first (ties: lower id first). */
export function topK(logits: Float32Array, k: number): TokenProb[] {
  const lp = logSoftmax(logits);
  const n = Math.min(k, lp.length);
  const best: number[] = [];
  for (let i = 0; i < lp.length; i++) {
    if (best.length === n && lp[i] <= lp[best[n - 1]]) continue;
    let j = best.length < n ? best.length : n - 1;
    best[j] = i;
    while (j > 0 && lp[best[j]] > lp[best[j - 1]]) {
      [best[j], best[j - 1]] = [best[j - 1], best[j]];
      j--;
    }
  }
  return best.map((id) => ({ id, logprob: lp[id], prob: Math.exp(lp[id]) }));
}
