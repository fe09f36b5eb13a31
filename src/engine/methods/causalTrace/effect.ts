/**
 * The seed paper's fractional tracing effect (research/seed-paper.md §2.1, the analysis notebook):
 * fraction(t, l) = max(0, (score(t, l) − low) / |low − high|) with high = max(clean probability,
 * the grid's largest score); the effect at layer l is the max over tokens (pre-subject tokens count 0).
 */
export function fractionalEffect(scores: number[][], low: number, clean: number, firstSubjectToken: number): number[] {
  const high = Math.max(clean, ...scores.flat());
  const denom = Math.abs(low - high);
  const L = scores[0]?.length ?? 0;
  const out = new Array<number>(L).fill(0);
  for (let t = firstSubjectToken; t < scores.length; t++) {
    for (let l = 0; l < L; l++) {
      const f = denom > 0 ? Math.max(0, (scores[t][l] - low) / denom) : 0;
      if (f > out[l]) out[l] = f;
    }
  }
  return out;
}

/** The unclipped fraction at the last subject token per layer (the paper's Fig. 16 robustness variant). */
export function lastSubjectEffect(scores: number[][], low: number, clean: number, lastSubjectToken: number): number[] {
  const high = Math.max(clean, ...scores.flat());
  const denom = Math.abs(low - high);
  return scores[lastSubjectToken].map((s) => (denom > 0 ? (s - low) / denom : 0));
}
