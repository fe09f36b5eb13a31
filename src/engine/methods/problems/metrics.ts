/**
 * The seed paper's normalised edit scores (Hase et al. 2023 §3.4; google/belief-localization
 * experiments/evaluate.py make_editing_results_df; research/seed-paper.md §4.2). Probabilities are of
 * the whole target sequence (teacher-forced product). 0 = no change, 1 = complete success.
 */

/** recovered = max(2e-8, (post − pre) / (1 − pre)): how much of the missing probability the edit added. */
export function recovered(pre: number, post: number): number {
  return Math.max(2e-8, (post - pre) / (1 - pre));
}

/** erased = max(0, (pre − post) / pre): how much of the probability the edit removed (Fact Erasure). */
export function erased(pre: number, post: number): number {
  return pre > 0 ? Math.max(0, (pre - post) / pre) : 0;
}

/** neighborhood = 1 − |post − pre| / (0.5 + |pre − 0.5|): 1 when unrelated facts are untouched. */
export function neighborhoodScore(pre: number, post: number): number {
  return 1 - Math.abs(post - pre) / (0.5 + Math.abs(pre - 0.5));
}

export interface PrePost {
  readonly pre: number;
  readonly post: number;
}

export interface EditScores {
  readonly rewrite: number;
  readonly paraphrase: number;
  readonly neighborhood: number;
  /** The paper's Overall Score: the arithmetic mean of the three (Appendix C, `target_score_mean`). */
  readonly overall: number;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/**
 * Scores of one edit. `firstOnly` reproduces the released code (only the first paraphrase and
 * neighborhood prompt); the default follows the paper's text and averages every prompt
 * (seed-paper.md §0, decision 3).
 */
export function editScores(rewrite: PrePost, paraphrases: readonly PrePost[], neighbors: readonly PrePost[], erase: boolean, firstOnly = false): EditScores {
  const success = erase ? erased : recovered;
  const pick = <T>(xs: readonly T[]): readonly T[] => (firstOnly ? xs.slice(0, 1) : xs);
  const r = success(rewrite.pre, rewrite.post);
  const p = mean(pick(paraphrases).map((x) => success(x.pre, x.post)));
  const n = mean(pick(neighbors).map((x) => neighborhoodScore(x.pre, x.post)));
  // Without paraphrase or neighborhood prompts (a bare request file) those scores are NaN (null in
  // JSON) and the overall score is the mean of the scores that exist.
  const present = [r, p, n].filter((x) => !Number.isNaN(x));
  return { rewrite: r, paraphrase: p, neighborhood: n, overall: present.reduce((a, b) => a + b, 0) / present.length };
}

export interface RomeSuccess {
  /** ES / PS: fraction of prompts where p(target_new) > p(target_true) (mean-NLL comparison, ROME). */
  readonly efficacy: number;
  readonly paraphrase: number;
  /** NS: fraction of neighborhood prompts where p(target_true) > p(target_new). */
  readonly neighborhood: number;
  /** EM / PM / NM: mean p(new) − p(true) (neighborhood: p(true) − p(new)), p = exp(−mean NLL). */
  readonly efficacyMagnitude: number;
  readonly paraphraseMagnitude: number;
  readonly neighborhoodMagnitude: number;
}

/** Per-token mean log-probs of target_new and target_true for each prompt. */
export interface PairLogprob {
  readonly newMean: number;
  readonly trueMean: number;
}

/** ROME's original CounterFact success and magnitude (kmeng01/rome experiments/summarize.py). */
export function romeSuccess(rewrite: readonly PairLogprob[], paraphrases: readonly PairLogprob[], neighbors: readonly PairLogprob[]): RomeSuccess {
  const wins = (xs: readonly PairLogprob[], newWins: boolean): number => mean(xs.map((x) => (newWins ? x.newMean > x.trueMean : x.trueMean > x.newMean) ? 1 : 0));
  const mag = (xs: readonly PairLogprob[], sign: number): number => mean(xs.map((x) => sign * (Math.exp(x.newMean) - Math.exp(x.trueMean))));
  return {
    efficacy: wins(rewrite, true),
    paraphrase: wins(paraphrases, true),
    neighborhood: wins(neighbors, false),
    efficacyMagnitude: mag(rewrite, 1),
    paraphraseMagnitude: mag(paraphrases, 1),
    neighborhoodMagnitude: mag(neighbors, -1),
  };
}
