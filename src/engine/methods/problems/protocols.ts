/**
 * One edit's scores under four named protocols (issue 19 item 6; research/editors.md §2.6: the same
 * edit scores very differently under probability comparison, teacher-forced token accuracy and free
 * generation, so every number carries the protocol that produced it). Each protocol gives rewrite /
 * paraphrase / neighborhood in [0, 1] and their mean `overall`; NaN (null in JSON) where a protocol
 * does not apply.
 */
import { romeSuccess } from './metrics';
import type { EditScores, PairLogprob } from './metrics';
import { argmaxAgreement, tokenAccuracy } from './tokenAccuracy';
import { GENERATION_EXTRA_TOKENS, saysTarget } from './generationCheck';

export const METRIC_PROTOCOLS = ['hase-normalized', 'rome-probability', 'token-accuracy', 'generation'] as const;
export type MetricProtocol = (typeof METRIC_PROTOCOLS)[number];

export interface ProtocolScores extends EditScores {
  readonly protocol: MetricProtocol;
}

/** The generation protocol also says how many tokens beyond the target's own it decoded. */
export interface GenerationScores extends ProtocolScores {
  readonly protocol: 'generation';
  readonly extraTokens: number;
}

export interface MetricsByProtocol {
  readonly 'hase-normalized': ProtocolScores;
  readonly 'rome-probability': ProtocolScores;
  readonly 'token-accuracy': ProtocolScores;
  readonly generation: GenerationScores;
}

/** What one prompt's probe holds (edit/evaluateEdit.ts CaseProbe rows). */
export interface PromptProbe {
  /** Σ log p of the problem's target and of target_true, and their per-token means. */
  readonly target: number;
  readonly truth: number;
  readonly targetMean: number;
  readonly truthMean: number;
  /** The problem's target ids and the argmax at each of its positions, given the gold prefix. */
  readonly targetIds: number[];
  readonly targetArgmax: number[];
  /** target_true's ids and the argmax at each of its positions, given target_true's prefix. */
  readonly truthIds: number[];
  readonly truthArgmax: number[];
  /** The greedy continuation (generationCheck.ts); undefined where it is not measured (noised subject). */
  readonly continuation?: string;
}

export interface ProbeRows {
  readonly rewrite: PromptProbe;
  readonly paraphrases: readonly PromptProbe[];
  readonly neighbors: readonly PromptProbe[];
}

/** What the protocols need to know about the problem (problems.ts ProblemSpec). */
export interface ProtocolSpec {
  readonly target: string;
  readonly erase: boolean;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** rewrite, paraphrase, neighborhood and their mean over the ones that exist (as metrics.ts editScores). */
function scores(protocol: MetricProtocol, rewrite: number, paraphrase: number, neighborhood: number): ProtocolScores {
  const present = [rewrite, paraphrase, neighborhood].filter((x) => !Number.isNaN(x));
  return { rewrite, paraphrase, neighborhood, overall: present.length ? mean(present) : NaN, protocol };
}

/**
 * ROME's CounterFact comparison (kmeng01/rome experiments/summarize.py): per prompt, success when the
 * mean-NLL probability of the problem's target beats target_true's (neighborhood: target_true beats
 * it), averaged over prompts. Problems whose target is target_true itself have nothing to compare: NaN.
 */
export function romeProbability(post: ProbeRows, spec: ProtocolSpec): ProtocolScores {
  const same = post.rewrite.targetIds.length === post.rewrite.truthIds.length && post.rewrite.targetIds.every((id, k) => post.rewrite.truthIds[k] === id);
  if (same) return scores('rome-probability', NaN, NaN, NaN);
  const pair = (x: PromptProbe): PairLogprob => ({ newMean: x.targetMean, trueMean: x.truthMean });
  const r = romeSuccess([pair(post.rewrite)], post.paraphrases.map(pair), post.neighbors.map(pair));
  // Fact Erasure wants the target to lose: its success is the complement of the target winning.
  const flip = (x: number): number => (spec.erase ? 1 - x : x);
  return scores('rome-probability', flip(r.efficacy), flip(r.paraphrase), r.neighborhood);
}

/**
 * EasyEdit's teacher-forced token accuracy (easyeditor/evaluate/evaluate.py compute_rewrite_or_rephrase_quality
 * and compute_locality_quality): rewrite / paraphrase = fraction of the target's tokens that are the
 * edited model's argmax given the gold prefix (Fact Erasure: the fraction that no longer are);
 * neighborhood = fraction of target_true's positions whose argmax the edit left unchanged.
 */
export function tokenAccuracyScores(pre: ProbeRows, post: ProbeRows, spec: ProtocolSpec): ProtocolScores {
  const acc = (x: PromptProbe): number => (spec.erase ? 1 - tokenAccuracy({ targetIds: x.targetIds, argmaxIds: x.targetArgmax }) : tokenAccuracy({ targetIds: x.targetIds, argmaxIds: x.targetArgmax }));
  return scores(
    'token-accuracy',
    acc(post.rewrite),
    mean(post.paraphrases.map(acc)),
    mean(post.neighbors.map((x, i) => argmaxAgreement(pre.neighbors[i].truthArgmax, x.truthArgmax))),
  );
}

/**
 * Free generation: rewrite / paraphrase = fraction of prompts whose greedy continuation (the target's
 * length + GENERATION_EXTRA_TOKENS tokens) contains the target (Fact Erasure: no longer contains it);
 * neighborhood = fraction whose continuation says the target exactly when it did before the edit.
 */
export function generationScores(pre: ProbeRows, post: ProbeRows, spec: ProtocolSpec): GenerationScores {
  const says = (x: PromptProbe): number => (x.continuation === undefined ? NaN : saysTarget(x.continuation, spec.target) !== spec.erase ? 1 : 0);
  const kept = (b: PromptProbe, a: PromptProbe): number => (a.continuation === undefined || b.continuation === undefined ? NaN : saysTarget(a.continuation, spec.target) === saysTarget(b.continuation, spec.target) ? 1 : 0);
  const s = scores('generation', says(post.rewrite), mean(post.paraphrases.map(says)), mean(post.neighbors.map((x, i) => kept(pre.neighbors[i], x))));
  return { ...s, protocol: 'generation', extraTokens: GENERATION_EXTRA_TOKENS };
}

/** Every protocol's scores; `hase` is the seed paper's scores as metrics.ts computes them. */
export function metricsByProtocol(pre: ProbeRows, post: ProbeRows, spec: ProtocolSpec, hase: EditScores): MetricsByProtocol {
  return {
    'hase-normalized': { ...hase, protocol: 'hase-normalized' },
    'rome-probability': romeProbability(post, spec),
    'token-accuracy': tokenAccuracyScores(pre, post, spec),
    generation: generationScores(pre, post, spec),
  };
}
