import type { LoadedModel } from '../../model/model';
import { forward } from '../../interp/forward';
import type { Intervention } from '../../interp/interventions';
import { forwardContext } from '../../interp/probe';
import { noiseDraws } from '../causalTrace/noise';
import { promptScores } from '../evaluate/promptScores';
import { logSumExp } from '../../interp/topk';
import { argmaxOf, logitsRow } from '../evaluate/rowScores';
import type { EditScores, RomeSuccess } from '../problems/metrics';
import { editScores, romeSuccess } from '../problems/metrics';
import type { FactCase, ProblemSpec } from '../problems/problems';
import { metricsByProtocol } from '../problems/protocols';
import type { MetricsByProtocol, ProtocolScores, PromptProbe } from '../problems/protocols';
import type { TeacherForced } from '../problems/tokenAccuracy';

/** Log-probabilities (and argmax tokens, greedy continuations) of one case under the current weights: the problem's target and target_true on every prompt. */
export interface CaseProbe {
  readonly rewrite: PromptProbe;
  readonly paraphrases: PromptProbe[];
  readonly neighbors: PromptProbe[];
}

/**
 * Teacher-forced log-probs of `target` after `prompt` with σ·RandomState(1) noise on the subject's
 * token embeddings (a fresh RandomState per prompt, so pre and post see the same draws). Prompts
 * without the subject are scored unnoised.
 */
async function noisedLogprobs(model: LoadedModel, pairs: ReadonlyArray<{ prompt: string; target: string }>, subject: string, sigma: number, signal?: AbortSignal): Promise<TeacherForced[]> {
  const out: TeacherForced[] = [];
  const V = model.config.d_vocab;
  for (const { prompt, target } of pairs) {
    const tok = model.tokenizer;
    const enc = tok.encode(prompt);
    const t = tok.encodeContinuation(/^\s/.test(target) ? target : ' ' + target).ids;
    const ids = [...enc.ids, ...t.slice(0, -1)];
    const interventions: Intervention[] = [];
    if (prompt.includes(subject)) {
      const [b, e] = tok.findSpan(enc, prompt, subject);
      interventions.push({ kind: 'add', site: 'embed', positions: Array.from({ length: e - b }, (_, k) => b + k), values: noiseDraws(1, e - b, model.config.d_model, sigma, 1) });
    }
    const logitsAt = [t.map((_, k) => enc.ids.length - 1 + k)];
    const { logits } = await forward(forwardContext(model), [ids], { logitsAt, interventions, signal }); // [targets, d_vocab]
    const rows = t.map((_, k) => logitsRow(logits!.data, k, V));
    const lps = t.map((id, k) => rows[k][id] - logSumExp(rows[k]));
    const argmaxIds = rows.map(argmaxOf);
    out.push({ sum: lps.reduce((a, x) => a + x, 0), tokenLogprobs: lps, targetIds: t, argmaxIds });
  }
  return out;
}

/**
 * Σ log p of the target sequence and per-token mean, for the rewrite, paraphrase and neighborhood
 * prompts, with what the other protocols need (problems/protocols.ts): the argmax at each target
 * position and each prompt's greedy continuation. Fact Forcing (`spec.noisedSubject`) scores with the
 * subject noised on each prompt's own subject tokens (seed-paper.md §0 decision 3, not the released
 * code's misaligned rows); greedy decoding has no noise hook, so it has no continuation there.
 */
export async function probeCase(model: LoadedModel, fact: FactCase, spec: ProblemSpec, signal?: AbortSignal): Promise<CaseProbe> {
  const prompts = [fact.prompt.replace('{}', fact.subject), ...(fact.paraphrase_prompts ?? []), ...(fact.neighborhood_prompts ?? [])];
  const truth = ' ' + fact.target_true.str.trimStart();
  const pairs = prompts.flatMap((prompt) => [{ prompt, target: spec.target }, { prompt, target: truth }]);
  let lp: TeacherForced[];
  let continuations: string[] | undefined;
  if (spec.noisedSubject) {
    lp = await noisedLogprobs(model, pairs, fact.subject, spec.noiseSigma, signal);
  } else {
    // Every prompt once for both targets and its continuation (evaluate/promptScores.ts; = teacherForced + greedyContinuations).
    const got = await promptScores(model, prompts, [spec.target, truth], { continuations: true, signal });
    lp = got.scores.flat();
    continuations = got.continuations;
  }
  const at = (i: number): PromptProbe => ({
    target: lp[2 * i].sum,
    truth: lp[2 * i + 1].sum,
    targetMean: lp[2 * i].sum / lp[2 * i].tokenLogprobs.length,
    truthMean: lp[2 * i + 1].sum / lp[2 * i + 1].tokenLogprobs.length,
    targetIds: lp[2 * i].targetIds,
    targetArgmax: lp[2 * i].argmaxIds,
    truthIds: lp[2 * i + 1].targetIds,
    truthArgmax: lp[2 * i + 1].argmaxIds,
    continuation: continuations?.[i],
  });
  const nP = fact.paraphrase_prompts?.length ?? 0;
  const nN = fact.neighborhood_prompts?.length ?? 0;
  return {
    rewrite: at(0),
    paraphrases: Array.from({ length: nP }, (_, i) => at(1 + i)),
    neighbors: Array.from({ length: nN }, (_, i) => at(1 + nP + i)),
  };
}

/**
 * The paper's normalized scores (on the problem's target; tagged "hase-normalized"), ROME's success
 * metrics (new vs true, Error Injection's view) and every protocol's scores (problems/protocols.ts).
 */
export function scoreCase(pre: CaseProbe, post: CaseProbe, spec: ProblemSpec, firstOnly = false): { metrics: EditScores & ProtocolScores; rome: RomeSuccess; byProtocol: MetricsByProtocol } {
  const pp = (a: number, b: number) => ({ pre: Math.exp(a), post: Math.exp(b) });
  const hase = editScores(
    pp(pre.rewrite.target, post.rewrite.target),
    pre.paraphrases.map((x, i) => pp(x.target, post.paraphrases[i].target)),
    pre.neighbors.map((x, i) => pp(x.target, post.neighbors[i].target)),
    spec.erase,
    firstOnly,
  );
  const pair = (x: { targetMean: number; truthMean: number }) => ({ newMean: x.targetMean, trueMean: x.truthMean });
  const rome = romeSuccess([pair(post.rewrite)], post.paraphrases.map(pair), post.neighbors.map(pair));
  const byProtocol = metricsByProtocol(pre, post, spec, hase);
  return { metrics: byProtocol['hase-normalized'], rome, byProtocol };
}
