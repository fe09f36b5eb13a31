/**
 * A case's measurements from one key/value cache: teacher-forced log-probs and argmax of several
 * targets after each prompt (problems/tokenAccuracy.ts teacherForced) and each prompt's greedy
 * continuation (problems/generationCheck.ts greedyContinuations), with every prompt computed once
 * instead of once per target and once more for decoding (issue 17: `locus edit` measures before and
 * after every edit). Same numbers up to float32 rounding (test/model/scoring.test.ts).
 */
import { IncrementalDecoder } from '../../interp/decode';
import { continueRows } from '../../interp/generate';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import { GENERATION_EXTRA_TOKENS } from '../problems/generationCheck';
import type { TeacherForced } from '../problems/tokenAccuracy';
import { logSumExp } from '../../interp/topk';
import { argmaxOf, logitsRow } from './rowScores';

export interface PromptScores {
  /** Per prompt, per target (in the order given): teacherForced's result. */
  readonly scores: TeacherForced[][];
  /** Per prompt, with `continuations`: the greedy continuation as greedyContinuations decodes it. */
  readonly continuations?: string[];
}

/**
 * Scores `targets` (a leading space added when missing, as ROME does) after every prompt and, with
 * `continuations`, decodes each prompt greedily for the first target's token count +
 * GENERATION_EXTRA_TOKENS (capped by the context window; <|endoftext|> ends a row).
 */
export async function promptScores(model: LoadedModel, prompts: readonly string[], targets: readonly string[], o: { continuations?: boolean; signal?: AbortSignal } = {}): Promise<PromptScores> {
  const { signal } = o;
  if (prompts.length === 0) return { scores: [], continuations: o.continuations ? [] : undefined };
  const tok = model.tokenizer;
  const V = model.config.d_vocab;
  const decoder = new IncrementalDecoder(forwardContext(model));
  const ids = prompts.map((p) => tok.encode(p).ids);
  const parents = ids.map(() => decoder.addRow());
  const first = await decoder.extend(parents, ids, { signal }); // [prompts, d_vocab]: the first target token's logits
  const targetIds = targets.map((t) => tok.encodeContinuation(/^\s/.test(t) ? t : ' ' + t).ids);
  // Teacher forcing: a fork of each prompt per target longer than a token, fed the target but its last token.
  const forks: Array<{ prompt: number; target: number; row: number }> = [];
  prompts.forEach((_, p) => targetIds.forEach((t, j) => t.length > 1 && forks.push({ prompt: p, target: j, row: decoder.addRow(parents[p]) })));
  const rest = forks.length > 0 ? await decoder.extend(forks.map((f) => f.row), forks.map((f) => targetIds[f.target].slice(0, -1)), { all: true, signal }) : undefined; // [Σ (target − 1), d_vocab]
  const restAt = new Map<string, number>();
  let at = 0;
  for (const f of forks) {
    restAt.set(`${f.prompt}|${f.target}`, at);
    at += targetIds[f.target].length - 1;
  }
  const scores = prompts.map((_, p) =>
    targetIds.map((t, j): TeacherForced => {
      const from = restAt.get(`${p}|${j}`) ?? 0;
      const rows = t.map((_, k) => (k === 0 ? logitsRow(first.data, p, V) : logitsRow(rest!.data, from + k - 1, V))); // [d_vocab] each
      const lps = t.map((id, k) => rows[k][id] - logSumExp(rows[k]));
      return { tokenLogprobs: lps, sum: lps.reduce((a, x) => a + x, 0), targetIds: t, argmaxIds: rows.map(argmaxOf) };
    }),
  );
  if (!o.continuations) return { scores };
  const extra = targetIds[0].length + GENERATION_EXTRA_TOKENS;
  const maxLength = ids.map((r) => Math.min(model.config.n_ctx, r.length + extra));
  const got = await continueRows(decoder, parents, ids, { maxLength, topK: 1, seed: 0, signal }, first);
  const continuations = got.map((row, i) => tok.decode(row.slice(ids[i].length).filter((id) => id !== model.config.eosTokenId)));
  return { scores, continuations };
}
