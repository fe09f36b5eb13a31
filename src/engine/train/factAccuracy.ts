import { forward } from '../interp/forward';
import type { ParamGetter } from '../graph/segments';
import type { ModelConfig } from '../model/config';
import { SessionCache } from '../model/sessions';
import type { LocusTokenizer } from '../model/tokenizer';
import type { FactRecord } from './corpus';

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/**
 * Top-1 accuracy of target_true's first token after each record's requested prompt and paraphrases,
 * on parameters in memory (training-time check; `locus eval` is the user-facing version).
 */
export async function knownFactAccuracy(cfg: ModelConfig, param: ParamGetter, tok: LocusTokenizer, records: readonly FactRecord[]): Promise<{ rewrite: number; paraphrase: number }> {
  const sessions = new SessionCache(cfg, param, { threads: 1 });
  const ctx = { config: cfg, sessions, padId: cfg.eosTokenId };
  const score = async (pairs: Array<[string, number]>): Promise<number> => {
    let right = 0;
    for (let i = 0; i < pairs.length; i += 64) {
      const chunk = pairs.slice(i, i + 64);
      const { logits } = await forward(ctx, chunk.map(([p]) => tok.encode(p).ids));
      chunk.forEach(([, want], k) => (right += argmax(logits!.data.subarray(k * cfg.d_vocab, (k + 1) * cfg.d_vocab)) === want ? 1 : 0));
    }
    return right / pairs.length;
  };
  try {
    const first = (r: FactRecord): number => tok.encode(' ' + r.requested_rewrite.target_true.str).ids[0];
    const rewrite = await score(records.map((r) => [r.requested_rewrite.prompt.replace('{}', r.requested_rewrite.subject), first(r)]));
    const paraphrase = await score(records.flatMap((r) => r.paraphrase_prompts.map((p): [string, number] => [p, first(r)])));
    return { rewrite, paraphrase };
  } finally {
    await sessions.releaseAll();
  }
}
