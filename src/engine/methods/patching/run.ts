/**
 * Activation patching with a counterfactual prompt (issue 19 item 2; Meng et al. 2022 §2.1 trace by
 * restoring states into a corrupted run, Zhang & Nanda 2024 recommend corrupting by symmetric token
 * replacement and scoring with logit differences). Clean prompt: the fact; corrupted prompt: the same
 * with a counterfactual subject of the same token length. Metric m = logit(answer) − logit(cf answer)
 * (or the probability difference) at the last position; a patched run's effect is
 * (m_patched − m_corrupt) / (m_clean − m_corrupt): 1 = the clean behaviour, 0 = the corrupted one.
 */
import { LocusError } from '../../errors';
import { assertFiniteDeep } from '../../files/finite';
import { forward } from '../../interp/forward';
import type { ForwardResult } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import { logSoftmax } from '../../interp/topk';
import type { LoadedModel } from '../../model/model';
import type { ActName } from '../../model/names';
import { windowLayers } from '../causalTrace/cells';
import { alignedSpans, firstAnswerId } from './counterfactual';
import { assertHeadsSupported, headContributions } from './heads';
import { patchedLogits, rowsAt } from './patched';
import type { SitePatch } from './patched';
import type { PatchGrid, PatchKind, PatchMetric, PatchRequest, PatchResult } from './types';

export interface PatchOptions {
  readonly signal?: AbortSignal;
  readonly maxRows?: number;
}

export const patchSite = (kind: PatchKind, layer: number): ActName => (kind === 'resid' ? `blocks.${layer}.resid_post` : `blocks.${layer}.${kind}.out`);

/** The metric on final-position logits [d_vocab]. */
export function patchMetric(logits: Float32Array, answerId: number, cfAnswerId: number, metric: PatchMetric): number {
  if (metric === 'logit-diff') return logits[answerId] - logits[cfAnswerId];
  const lp = logSoftmax(logits);
  return Math.exp(lp[answerId]) - Math.exp(lp[cfAnswerId]);
}

/** The two runs a patch grid reads, with every activation it copies. */
export interface PatchRuns {
  readonly clean: ForwardResult;
  readonly corrupted: ForwardResult;
  readonly span: [number, number];
  readonly cleanIds: number[];
  readonly corruptIds: number[];
}

export async function patchRuns(model: LoadedModel, req: Pick<PatchRequest, 'prompt' | 'subject' | 'counterfactualSubject'>, heads: boolean, signal?: AbortSignal): Promise<PatchRuns> {
  const { span, cleanIds, corruptIds } = alignedSpans(model, req.prompt, req.subject, req.counterfactualSubject);
  if (cleanIds.length > model.config.n_ctx) throw new LocusError('bad-input', `the prompt has ${cleanIds.length} tokens; the context window is ${model.config.n_ctx}`);
  const sites: ActName[] = ['blocks.0.resid_pre'];
  for (let l = 0; l < model.config.n_layers; l++) sites.push(`blocks.${l}.resid_post`, `blocks.${l}.mlp.out`, `blocks.${l}.attn.out`, ...(heads ? [`blocks.${l}.ln1.out` as ActName] : []));
  const ctx = forwardContext(model);
  const clean = await forward(ctx, [cleanIds], { fetch: sites, keysValues: heads, signal });
  const corrupted = await forward(ctx, [corruptIds], { fetch: sites, keysValues: heads, signal });
  return { clean, corrupted, span, cleanIds, corruptIds };
}

export async function runPatching(model: LoadedModel, req: PatchRequest, opts: PatchOptions = {}): Promise<PatchResult> {
  const t0 = Date.now();
  const cfg = model.config;
  const L = cfg.n_layers;
  const kinds = req.kinds ?? ['resid', 'mlp', 'attn'];
  const window = req.window ?? 1;
  const direction = req.direction ?? 'denoise';
  const metric = req.metric ?? 'logit-diff';
  if (!Number.isInteger(window) || window < 1) throw new LocusError('bad-input', `window must be a positive integer (got ${window})`);
  if (req.heads) assertHeadsSupported(model);
  const answerId = firstAnswerId(model, req.answer);
  const cfAnswerId = firstAnswerId(model, req.counterfactualAnswer);
  if (answerId === cfAnswerId) throw new LocusError('bad-input', `the answer and the counterfactual answer start with the same token (${JSON.stringify(model.tokenizer.decode([answerId]))}): the metric would be 0 on both prompts`);
  const runs = await patchRuns(model, req, req.heads === true, opts.signal);
  const [b, e] = runs.span;
  const P = runs.cleanIds.length;
  const m = (logits: Float32Array): number => patchMetric(logits, answerId, cfAnswerId, metric);
  const clean = m(runs.clean.logits!.data);
  const corrupted = m(runs.corrupted.logits!.data);
  if (clean === corrupted) throw new LocusError('bad-input', 'the metric is the same on the clean and the corrupted prompt: no effect can be normalised; choose another counterfactual');
  const effectOf = (x: number): number => (x - corrupted) / (clean - corrupted);
  const [base, source] = direction === 'denoise' ? [runs.corrupted, runs.clean] : [runs.clean, runs.corrupted];
  const ctx = forwardContext(model);
  const valuesAt = (site: ActName, t: number) => rowsAt(source.acts.get(site)!, [t]);

  // Positions before the subject hold the same tokens in both prompts (causal attention: the same states).
  const unpatched = direction === 'denoise' ? 0 : 1;
  const sets: SitePatch[][] = [];
  const where: Array<{ kind: PatchKind; t: number; l: number }> = [];
  for (const kind of kinds) {
    for (let t = b; t < P; t++) {
      for (let l = 0; l < L; l++) {
        const layers = kind === 'resid' ? [l] : windowLayers(l, window, L);
        sets.push(layers.map((k) => ({ site: patchSite(kind, k), layer: k, positions: [t], values: valuesAt(patchSite(kind, k), t) })));
        where.push({ kind, t, l });
      }
    }
  }
  const logits = await patchedLogits(ctx, base, sets, opts);
  const grids: Partial<Record<PatchKind, PatchGrid>> = {};
  const effectByLayer: Partial<Record<PatchKind, number[]>> = {};
  for (const kind of kinds) {
    const effect = Array.from({ length: P }, () => new Array<number>(L).fill(unpatched));
    where.forEach((w, i) => {
      if (w.kind === kind) effect[w.t][w.l] = effectOf(m(logits[i]));
    });
    grids[kind] = { window: kind === 'resid' ? 1 : window, effect };
    effectByLayer[kind] = Array.from({ length: L }, (_, l) => Math.max(...effect.slice(b).map((row) => row[l])));
  }
  const heads = req.heads ? await headGrid(model, runs, base === runs.corrupted, (x) => effectOf(m(x)), unpatched, opts) : undefined;
  const decode = (ids: number[]): string[] => ids.map((id) => model.tokenizer.decode([id]));
  const result: PatchResult = {
    tokens: decode(runs.cleanIds),
    counterfactualTokens: decode(runs.corruptIds),
    subjectRange: [b, e],
    answer: { id: answerId, token: model.tokenizer.decode([answerId]) },
    counterfactualAnswer: { id: cfAnswerId, token: model.tokenizer.decode([cfAnswerId]) },
    counterfactualSubject: req.counterfactualSubject,
    direction,
    metric,
    clean,
    corrupted,
    grids,
    effectByLayer,
    ...(heads ? { heads } : {}),
    cells: sets.length + (heads ? (P - b) * L * cfg.n_heads : 0),
    seconds: (Date.now() - t0) / 1000,
  };
  assertFiniteDeep('the patching result', result, () => false, 'the model overflows; check the weights');
  return result;
}

/**
 * Head patches at (t, l): the base attention output with head h's contribution swapped for the source
 * run's, attn.out' = attn.out_base − c_h^base + c_h^source (the other heads and b_O stay).
 */
export function headPatch(l: number, t: number, baseAttn: Float32Array, cBase: Float32Array, cSource: Float32Array): SitePatch {
  const v = new Float32Array(baseAttn.length);
  for (let i = 0; i < v.length; i++) v[i] = baseAttn[i] - cBase[i] + cSource[i];
  return { site: `blocks.${l}.attn.out`, layer: l, positions: [t], values: { shape: [1, 1, v.length], data: v } };
}

/** Per-layer head contributions of both runs at positions from `from` on. */
export function bothContributions(model: LoadedModel, runs: PatchRuns, l: number, from: number): { clean: Float32Array[][]; corrupted: Float32Array[][] } {
  const of = (r: ForwardResult) => headContributions(model, l, r.acts.get(`blocks.${l}.ln1.out`)!, r.kv!.get(l)!.k, r.kv!.get(l)!.v, from);
  return { clean: of(runs.clean), corrupted: of(runs.corrupted) };
}

async function headGrid(model: LoadedModel, runs: PatchRuns, denoise: boolean, effectOf: (logits: Float32Array) => number, unpatched: number, opts: PatchOptions): Promise<number[][][]> {
  const L = model.config.n_layers;
  const H = model.config.n_heads;
  const D = model.config.d_model;
  const [b] = runs.span;
  const P = runs.cleanIds.length;
  const base = denoise ? runs.corrupted : runs.clean;
  const sets: SitePatch[][] = [];
  const where: Array<[number, number, number]> = [];
  for (let l = 0; l < L; l++) {
    const c = bothContributions(model, runs, l, b);
    const [cBase, cSource] = denoise ? [c.corrupted, c.clean] : [c.clean, c.corrupted];
    const attn = base.acts.get(`blocks.${l}.attn.out`)!;
    for (let t = b; t < P; t++) {
      for (let h = 0; h < H; h++) {
        sets.push([headPatch(l, t, attn.data.subarray(t * D, (t + 1) * D), cBase[h][t - b], cSource[h][t - b])]);
        where.push([t, l, h]);
      }
    }
  }
  const logits = await patchedLogits(forwardContext(model), base, sets, opts);
  const grid = Array.from({ length: P }, () => Array.from({ length: L }, () => new Array<number>(H).fill(unpatched)));
  where.forEach(([t, l, h], i) => (grid[t][l][h] = effectOf(logits[i])));
  return grid;
}
