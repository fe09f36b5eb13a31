/**
 * Logit lens (nostalgebraist 2020, "interpreting GPT: the logit lens"; as TransformerLens'
 * `accumulated_resid(apply_ln=True)` → `unembed`): every layer's residual stream decoded as if it were
 * the last layer's. Layer l's row at position t is log_softmax(W_U · ln_final(blocks.{l}.resid_post[t]))
 * with the model's own final norm and head — GPT-2's / NeoX's LayerNorm, Llama-family RMSNorm
 * (Gemma's (1 + w)), the tied or untied unembedding and its bias — because it runs the model's own
 * `unembed` segment (forwardFrom at layer n_layers runs the head alone). The last layer's rows are the
 * model's own next-token distributions.
 */
import { LocusError } from '../errors';
import { assertFiniteArray } from '../files/finite';
import type { LoadedModel } from '../model/model';
import { act } from '../model/names';
import type { ActName } from '../model/names';
import { forward, forwardFrom } from './forward';
import { encodePrompt, forwardContext } from './probe';
import { logSoftmax, topK } from './topk';

export interface LensToken {
  readonly id: number;
  readonly token: string;
  readonly logprob: number;
  readonly prob: number;
}

/** The `--answer` token's standing in one cell: rank 1 = the cell's top token (ties share the better rank). */
export interface LensAnswer extends LensToken {
  readonly rank: number;
}

export interface LensPosition {
  readonly top: LensToken[];
  readonly answer?: LensAnswer;
}

/** `locus lens --json` (CONTRACTS.md, "Next"): layers[l].positions[t].top, highest first. */
export interface LensResult {
  readonly tokens: string[];
  readonly ids: number[];
  /** The answer's first token, when one was asked for. */
  readonly answer?: { id: number; token: string; text: string };
  readonly layers: { layer: number; positions: LensPosition[] }[];
}

export interface LensOptions {
  /** How many tokens per cell (default 5). */
  readonly top?: number;
  /** An answer to follow through the layers: its first token (a leading space added when missing, as trace's --target). */
  readonly answer?: string;
  readonly signal?: AbortSignal;
  /** Called after each layer is decoded (the panel's progress on a deep model with a large vocabulary). */
  readonly onProgress?: (p: { done: number; total: number }) => void;
}

/** The answer's first token id, encoded as a continuation after the prompt. */
function answerToken(model: LoadedModel, answer: string): number {
  if (answer.trim() === '') throw new LocusError('bad-input', 'the answer is empty: give the text the prompt should continue with');
  const ids = model.tokenizer.encodeContinuation(/^\s/.test(answer) ? answer : ' ' + answer).ids;
  if (ids.length === 0) throw new LocusError('bad-input', `the answer "${answer}" has no tokens`);
  return ids[0];
}

/** 1 + the number of tokens strictly more probable than `id`. */
function rankOf(lp: Float64Array, id: number): number {
  let above = 0;
  for (let i = 0; i < lp.length; i++) if (lp[i] > lp[id]) above++;
  return above + 1;
}

export async function logitLens(model: LoadedModel, prompt: string, opts: LensOptions = {}): Promise<LensResult> {
  const k = opts.top ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new LocusError('bad-input', `top must be a positive integer (got ${k})`);
  const { ids, tokens } = encodePrompt(model, prompt);
  const answerId = opts.answer === undefined ? undefined : answerToken(model, opts.answer);
  const cfg = model.config;
  const ctx = forwardContext(model);
  const T = ids.length;
  const V = cfg.d_vocab;
  const sites: ActName[] = Array.from({ length: cfg.n_layers }, (_, l) => act.resid(l, 'resid_post'));
  const { acts } = await forward(ctx, [ids], { fetch: sites, logits: 'none', signal: opts.signal });
  const text = (id: number): string => model.tokenizer.tokenText(id);
  const layers: LensResult['layers'] = [];
  // One layer at a time: T × d_vocab logits per call, never L × T × d_vocab at once (a 128k vocabulary).
  for (let l = 0; l < cfg.n_layers; l++) {
    const resid = acts.get(sites[l])!; // [1, pos, d_model]
    const { logits } = await forwardFrom(ctx, cfg.n_layers, resid, [T], { logits: 'all', signal: opts.signal }); // [1, pos, d_vocab]
    const positions: LensPosition[] = [];
    for (let t = 0; t < T; t++) {
      const row = logits!.data.subarray(t * V, (t + 1) * V); // [d_vocab]
      assertFiniteArray(`the lens logits at layer ${l}, position ${t}`, row, 'the model computes NaN/Inf for this prompt (check its weights)');
      const top = topK(row, k).map((c) => ({ id: c.id, token: text(c.id), logprob: c.logprob, prob: c.prob }));
      if (answerId === undefined) {
        positions.push({ top });
        continue;
      }
      const lp = logSoftmax(row);
      positions.push({ top, answer: { id: answerId, token: text(answerId), logprob: lp[answerId], prob: Math.exp(lp[answerId]), rank: rankOf(lp, answerId) } });
    }
    layers.push({ layer: l, positions });
    opts.onProgress?.({ done: l + 1, total: cfg.n_layers });
  }
  const answer = answerId === undefined ? undefined : { id: answerId, token: text(answerId), text: opts.answer! };
  return { tokens, ids, ...(answer ? { answer } : {}), layers };
}
