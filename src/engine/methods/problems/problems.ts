import type { CounterFactRecord } from '../../data/counterfact';
import { LocusError } from '../../errors';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import { noiseDraws } from '../causalTrace/noise';
import type { RewriteRequest } from '../rome/index';

/** The seed paper's five editing problems (Hase et al. 2023 §3.3). */
export const EDITING_PROBLEMS = ['error-injection', 'tracing-reversal', 'fact-erasure', 'fact-amplification', 'fact-forcing'] as const;
export type EditingProblem = (typeof EDITING_PROBLEMS)[number];

/** A record's rewrite with its evaluation prompts (CounterFact's fields). */
export interface FactCase extends RewriteRequest {
  readonly target_true: { readonly str: string };
  readonly paraphrase_prompts?: readonly string[];
  readonly neighborhood_prompts?: readonly string[];
}

/** A CounterFact record as the case its edit works on (the targets' strings only, not their token ids). */
export function factCaseOf(r: CounterFactRecord): FactCase {
  const rw = r.requested_rewrite;
  return { prompt: rw.prompt, subject: rw.subject, target_new: { str: rw.target_new.str }, target_true: { str: rw.target_true.str }, paraphrase_prompts: r.paraphrase_prompts, neighborhood_prompts: r.neighborhood_prompts };
}

export interface ProblemSpec {
  readonly problem: EditingProblem;
  /** The request the method optimizes: target_new is the problem's target. */
  readonly request: RewriteRequest;
  /** The text scored pre and post (the problem's target), with a leading space. */
  readonly target: string;
  /** Fact Erasure lowers the target's probability; every other problem raises it. */
  readonly erase: boolean;
  /** Fact Forcing: the subject's token embeddings are noised while editing and evaluating. */
  readonly noisedSubject: boolean;
  /** σ of that noise (the hparams' editing_noise). */
  readonly noiseSigma: number;
}

const withSpace = (s: string): string => (/^\s/.test(s) ? s : ' ' + s);

/**
 * o_noise for Tracing Reversal: the most probable next token when the subject is noised, from the
 * mean of the next-token distributions over `samples` noised copies (σ·RandomState(1) draws, as the
 * reference's corrupted_forward_pass). The paper defines o_noise as the model's output for the noised
 * input; the released code samples a 12-token string with torch's RNG instead (seed-paper.md §3.2),
 * which cannot be reproduced outside torch — Locus takes the deterministic argmax and records it.
 */
export async function noisedArgmax(model: LoadedModel, prompt: string, subject: string, sigma: number, samples = 10): Promise<string> {
  const enc = model.tokenizer.encode(prompt);
  const [b, e] = model.tokenizer.findSpan(enc, prompt, subject);
  const noise = noiseDraws(samples, e - b, model.config.d_model, sigma, 1);
  const rows = Array.from({ length: samples }, (_, i) => i);
  const { logits } = await forward(forwardContext(model), rows.map(() => enc.ids), {
    interventions: [{ kind: 'add', site: 'embed', rows, positions: Array.from({ length: e - b }, (_, i) => b + i), values: noise }],
  });
  const V = model.config.d_vocab;
  const mean = new Float64Array(V);
  for (const r of rows) {
    const row = logits!.data.subarray(r * V, (r + 1) * V);
    let max = -Infinity;
    for (const v of row) if (v > max) max = v;
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    for (let i = 0; i < V; i++) mean[i] += Math.exp(row[i] - max) / z / samples;
  }
  let best = 0;
  for (let i = 1; i < V; i++) if (mean[i] > mean[best]) best = i;
  return model.tokenizer.decode([best]);
}

/** Builds what each problem optimizes and scores (seed-paper.md §3.2 table). */
export async function buildProblem(model: LoadedModel, fact: FactCase, problem: EditingProblem, editingNoise: number): Promise<ProblemSpec> {
  const prompt = fact.prompt.replace('{}', fact.subject);
  const base = { prompt: fact.prompt, subject: fact.subject };
  switch (problem) {
    case 'error-injection':
      return { problem, request: { ...base, target_new: fact.target_new, target_true: fact.target_true }, target: withSpace(fact.target_new.str), erase: false, noisedSubject: false, noiseSigma: editingNoise };
    case 'fact-amplification':
    case 'fact-erasure':
      return { problem, request: { ...base, target_new: fact.target_true }, target: withSpace(fact.target_true.str), erase: problem === 'fact-erasure', noisedSubject: false, noiseSigma: editingNoise };
    case 'fact-forcing':
      return { problem, request: { ...base, target_new: fact.target_true }, target: withSpace(fact.target_true.str), erase: false, noisedSubject: true, noiseSigma: editingNoise };
    case 'tracing-reversal': {
      const oNoise = await noisedArgmax(model, prompt, fact.subject, editingNoise);
      return { problem, request: { ...base, target_new: { str: oNoise } }, target: withSpace(oNoise.trimStart()), erase: false, noisedSubject: false, noiseSigma: editingNoise };
    }
    default:
      throw new LocusError('bad-input', `unknown editing problem "${problem as string}"; problems: ${EDITING_PROBLEMS.join(', ')}`);
  }
}
