import { OBJECTIVE_INPUT } from '../../autodiff/objective';
import { LocusError } from '../../errors';
import { blockFeeds } from '../../graph/feeds';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import type { Feed } from '../../runtime/ort';
import type { RewriteRequest } from '../rome/index';
import type { Intervention } from '../../interp/interventions';
import { RandomState } from '../causalTrace/randomState';

/** One chunk of requests, ready for the objective graph except for the trainable weights. */
export interface FtChunk {
  /** Rows in the chunk (torch's `bs`, the AverageMeter's weight). */
  readonly size: number;
  /** Target tokens scored (for reporting). */
  readonly nTargets: number;
  readonly feeds: Record<string, Feed>;
  /**
   * Fact Forcing: draws fresh subject noise and recomputes the residual feed; call before every
   * evaluation (the reference's hook adds new draws on every forward pass during the edit).
   */
  readonly refresh?: () => Promise<void>;
}

/** Fact Forcing's corruption while fine-tuning (seed-paper.md §3.4): σ and noised copies per request. */
export interface SubjectNoise {
  readonly sigma: number;
  readonly copies: number;
}

/** The objective's target string: a leading space added when missing (as targetLogprobs scores it). */
export function ftTarget(r: RewriteRequest): string {
  return /^\s/.test(r.target_new.str) ? r.target_new.str : ' ' + r.target_new.str;
}

/**
 * The reference's batch (util/fewshot_utils.py make_inputs + score_from_batch): per request the
 * filled prompt and " " + target are encoded separately and concatenated; the loss scores every
 * target token from the position before it (teacher forcing), so the input is prompt + target[:-1]
 * (the last target token is never an input to a scored position under causal attention). Rows are
 * right-padded, which is exact under causal attention.
 *
 * Invariant: the layers below `fromLayer` are not tuned, so the residual stream entering it is
 * computed once here (one forward pass) and fed to the objective graph at every step.
 * With weights 1 the graph's `loss` is −Σ_rows Σ_t log p(y_t): summed, not averaged (seed-paper.md §3.4).
 */
export async function buildChunk(model: LoadedModel, requests: readonly RewriteRequest[], fromLayer: number, signal?: AbortSignal, noise?: SubjectNoise): Promise<FtChunk> {
  const cfg = model.config;
  const tok = model.tokenizer;
  const rows: number[][] = [];
  const flatRows: bigint[] = [];
  const targets: bigint[] = [];
  const encoded = requests.map((r) => {
    if (!r.prompt.includes('{}')) throw new LocusError('bad-input', `the request prompt "${r.prompt}" has no "{}" for the subject`);
    const p = tok.encode(r.prompt.replace('{}', () => r.subject)).ids;
    const t = tok.encodeContinuation(ftTarget(r)).ids;
    if (p.length === 0) throw new LocusError('bad-input', `the request prompt "${r.prompt}" is empty`);
    if (t.length === 0) throw new LocusError('bad-input', 'target_new is empty');
    return { p, t };
  });
  const T = Math.max(...encoded.map(({ p, t }) => p.length + t.length - 1));
  const copies = noise?.copies ?? 1;
  const spans: Array<[number, number]> = [];
  encoded.forEach(({ p, t }, i) => {
    const prompt = requests[i].prompt.replace('{}', () => requests[i].subject);
    const span = noise ? tok.findSpan(tok.encode(prompt), prompt, requests[i].subject) : ([0, 0] as [number, number]);
    for (let c = 0; c < copies; c++) {
      const b = rows.length;
      rows.push([...p, ...t.slice(0, -1)]);
      spans.push(span);
      t.forEach((id, k) => {
        flatRows.push(BigInt(b * T + p.length - 1 + k)); // logits at position p.length − 1 + k predict target token k
        targets.push(BigInt(id));
      });
    }
  });
  const pre = `blocks.${fromLayer}.resid_pre` as const;
  // One RandomState(1) per request, continued across steps: fresh draws on every forward pass.
  const states = requests.map(() => new RandomState(1));
  const noised = (): Intervention[] =>
    noise
      ? requests.flatMap((_, i) => {
          const [b, e] = spans[i * copies];
          const draws = states[i].randn(copies, e - b, cfg.d_model);
          const rowsOf = Array.from({ length: copies }, (_, c) => i * copies + c);
          return [{ kind: 'add' as const, site: 'embed' as const, rows: rowsOf, positions: Array.from({ length: e - b }, (_, k) => b + k), values: { shape: [copies, e - b, cfg.d_model], data: Float32Array.from(draws, (z) => z * noise.sigma) } }];
        })
      : [];
  // Unnoised here; with noise, `refresh` replaces this feed before every evaluation.
  const { acts } = await forward(forwardContext(model), rows, { fetch: [pre], logits: 'none', signal });
  const n = targets.length;
  const feeds: Record<string, Feed> = {
    [OBJECTIVE_INPUT.resid]: acts.get(pre)!,
    [OBJECTIVE_INPUT.rows]: { shape: [n], ids: BigInt64Array.from(flatRows) },
    [OBJECTIVE_INPUT.targets]: { shape: [n], ids: BigInt64Array.from(targets) },
    [OBJECTIVE_INPUT.weights]: { shape: [n], data: new Float32Array(n).fill(1) },
    ...blockFeeds(cfg, 0, T),
  };
  const refresh = noise
    ? async (): Promise<void> => {
        const r = await forward(forwardContext(model), rows, { fetch: [pre], logits: 'none', signal, interventions: noised() });
        feeds[OBJECTIVE_INPUT.resid] = r.acts.get(pre)!;
      }
    : undefined;
  return { size: requests.length, nTargets: n, feeds, refresh };
}
