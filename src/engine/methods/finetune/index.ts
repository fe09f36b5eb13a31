import { gradName } from '../../autodiff/backward';
import { buildObjectiveGraph } from '../../autodiff/objective';
import { LocusError } from '../../errors';
import { encodeModel } from '../../graph/proto';
import type { LoadedModel } from '../../model/model';
import type { ParamName } from '../../model/names';
import { adamStep, newAdamState, projectLinf } from '../../optim/adam';
import { RuntimeSession } from '../../runtime/ort';
import type { Edit, ParamDelta } from '../edit/edits';
import type { RewriteRequest } from '../rome/index';
import { buildChunk } from './batch';
import type { SubjectNoise } from './batch';
import type { FtChunk } from './batch';
import type { FtHparams } from './hparams';

export { FT_GPT2_XL, FT_GPT_J, ftWindow, mergeFtHparams } from './hparams';
export type { FtHparams } from './hparams';

/**
 * What the loss is, per the seed paper's editing problems (seed-paper.md §3.2, §3.4):
 * 'nll' — Error Injection, Tracing Reversal, Fact Amplification (the problems differ only in
 * target_new): loss = −Σ log p(target_new), early stop after 5 epochs below 0.01.
 * 'erasure' — Fact Erasure (target_new = the true object): loss = p(target) = exp(Σ log p),
 * no early stop (updates simply stop once p < 0.01).
 * Fact Forcing (10 copies with noised subject embeddings) is not implemented here.
 */
export type FtObjective = 'nll' | 'erasure';

export interface FtProgress {
  readonly epoch: number;
  readonly numSteps: number;
  /** The epoch's AverageMeter value (loss at the weights before that epoch's updates). */
  readonly loss: number;
}

export interface FtOptions {
  readonly hparams: FtHparams;
  readonly objective?: FtObjective;
  /** Fact Forcing: train on `copies` noised copies of each request (σ on the subject's token embeddings). */
  readonly subjectNoise?: SubjectNoise;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: FtProgress) => void;
}

export interface FtResult {
  /** Dense ΔW_out, Δb_out per tuned layer (layer order, weight before bias); never applied here. */
  readonly edit: Edit;
  /** Per epoch: the size-weighted mean over chunks of the loss before each chunk's step. */
  readonly losses: number[];
  /** Adam updates taken (chunks whose loss was ≥ 0.01). */
  readonly updates: number;
  readonly notes: string[];
}

/** The reference's skip threshold and early-stop level (ft_main.py execute_ft: `loss.item() >= 1e-2`). */
const LOSS_FLOOR = 1e-2;
/** Consecutive epochs below LOSS_FLOOR before stopping (ft_main.py: `patience_counter >= 5`). */
const PATIENCE = 5;

/**
 * The seed paper's constrained fine-tuning (Hase et al. 2023 §3.3; google/belief-localization
 * third_party/baselines/ft/ft_main.py execute_ft): Adam (lr, L2 weight_decay as torch.optim.Adam)
 * on the weight AND bias of mlp.c_proj (W_out, b_out) of every layer in hparams.layers. Per epoch
 * (num_steps of them) and per chunk of batch_size requests: the loss at the current weights; one
 * Adam step only when it is ≥ 0.01; then every element clamped to original ± norm_constraint (an
 * L∞ box, after every chunk). With the 'nll' objective it stops after 5 consecutive epochs whose
 * mean loss is < 0.01. Layers below min(layers) are never re-run (their output is computed once).
 *
 * Invariant: the model is never written — the tuned weights are graph inputs of one objective
 * graph, held in arrays private to this call — so it is bit-identical when this returns or throws.
 * Cancellation via `signal` throws LocusError('cancelled').
 */
export async function computeFineTune(model: LoadedModel, requests: readonly RewriteRequest[], o: FtOptions): Promise<FtResult> {
  const h = o.hparams;
  const objective = o.objective ?? 'nll';
  const cfg = model.config;
  if (requests.length === 0) throw new LocusError('bad-input', 'fine-tuning needs at least one request');
  if (h.layers.length === 0) throw new LocusError('bad-input', 'fine-tuning needs at least one layer');
  for (const l of h.layers) if (!Number.isInteger(l) || l < 0 || l >= cfg.n_layers) throw new LocusError('bad-input', `layer ${l} is outside 0..${cfg.n_layers - 1}`);
  if (!(h.norm_constraint > 0)) throw new LocusError('bad-input', `norm_constraint must be positive (got ${h.norm_constraint})`);
  if (!(Number.isInteger(h.batch_size) && h.batch_size >= 1)) throw new LocusError('bad-input', `batch_size must be a positive integer (got ${h.batch_size})`);
  const notes: string[] = [];
  if (h.kl_factor !== 0) notes.push(`kl_factor ${h.kl_factor} ignored: the reference's fine-tuning has no KL term`);
  const cancelled = (): never => {
    throw new LocusError('cancelled', 'fine-tuning cancelled');
  };
  if (o.signal?.aborted) cancelled();

  // The reference collects weights with model.named_parameters(): model (layer) order, weight before bias.
  const layers = [...new Set(h.layers)].sort((a, b) => a - b);
  const names: ParamName[] = layers.flatMap((l): ParamName[] => [`blocks.${l}.mlp.W_out`, ...(cfg.arch.mlpBias ? [`blocks.${l}.mlp.b_out` as const] : [])]);
  const shapes = new Map(names.map((n) => [n, model.param(n).shape]));
  const orig = new Map(names.map((n) => [n, Float32Array.from(model.param(n).data)]));
  const cur = new Map(names.map((n) => [n, Float32Array.from(orig.get(n)!)]));

  const chunks: FtChunk[] = [];
  for (let i = 0; i < requests.length; i += h.batch_size) chunks.push(await buildChunk(model, requests.slice(i, i + h.batch_size), layers[0], o.signal, o.subjectNoise));
  const graph = buildObjectiveGraph(cfg, model.param, { fromLayer: layers[0], trainable: names });
  const session = await RuntimeSession.create('finetune', encodeModel(graph.spec, 20), {});
  const losses: number[] = [];
  const adam = newAdamState();
  let updates = 0;
  let patience = 0;
  try {
    for (let epoch = 0; epoch < h.num_steps; epoch++) {
      let sum = 0;
      let count = 0;
      for (const chunk of chunks) {
        if (o.signal?.aborted) cancelled();
        // Fact Forcing: fresh subject noise for every evaluation, as the reference's wte hook.
        if (chunk.refresh) await chunk.refresh();
        const feeds = { ...chunk.feeds };
        for (const n of names) feeds[n] = { shape: shapes.get(n)!, data: cur.get(n)! };
        const res = await session.run(feeds, graph.outputs);
        const nll = res['loss'].data[0];
        // Erasure: d p / dθ = d exp(−nll) / dθ = −p · d nll / dθ.
        const loss = objective === 'erasure' ? Math.exp(-nll) : nll;
        const scale = objective === 'erasure' ? -loss : 1;
        sum += loss * chunk.size;
        count += chunk.size;
        if (loss >= LOSS_FLOOR) {
          const grads = new Map(names.map((n) => [n, scaled(res[gradName(n)].data, scale)]));
          adamStep(cur, grads, adam, { lr: h.lr, weightDecay: h.weight_decay, decoupled: false });
          updates++;
        }
        // The reference clamps after every chunk, stepped or not (a no-op when nothing moved).
        for (const n of names) projectLinf(cur.get(n)!, orig.get(n)!, h.norm_constraint);
      }
      const avg = sum / count;
      losses.push(avg);
      o.onProgress?.({ epoch, numSteps: h.num_steps, loss: avg });
      if (objective === 'nll') {
        patience = avg < LOSS_FLOOR ? patience + 1 : 0;
        if (patience >= PATIENCE) break;
      }
    }
  } finally {
    await session.release();
  }
  const deltas: ParamDelta[] = names.map((n) => {
    const c = cur.get(n)!;
    const w0 = orig.get(n)!;
    return { param: n, kind: 'dense', shape: shapes.get(n)!, delta: c.map((x, i) => x - w0[i]) };
  });
  return { edit: { method: 'ft', layers, deltas }, losses, updates, notes };
}

function scaled(g: Float32Array, s: number): Float32Array {
  return s === 1 ? g : g.map((x) => x * s);
}
