import { gradName } from '../../autodiff/backward';
import { buildObjectiveGraph, OBJECTIVE_INPUT } from '../../autodiff/objective';
import type { DeltaSite } from '../../autodiff/objective';
import { LocusError } from '../../errors';
import { blockFeeds } from '../../graph/feeds';
import { hookInput } from '../../graph/segments';
import type { HookSite } from '../../graph/segments';
import type { LoadedModel } from '../../model/model';
import type { Feed } from '../../runtime/ort';
import type { Tensor } from '../../tensor/tensor';

/** One run's log p(answer) and its gradient with respect to every layer's attention and MLP outputs. */
export interface AnswerGradients {
  /** log p(answer): Σ over the scored positions of log softmax(logits)[answer token]. */
  readonly logProb: number;
  /** ∂ log p(answer) / ∂ blocks.{layer}.{site} at every position, [pos, d_model]. */
  grad(site: HookSite, layer: number): Float32Array;
}

const SITES: readonly HookSite[] = ['attn.out', 'mlp.out'];

/** The objective graph's session key: every layer's attn.out and mlp.out are delta sites (0 when run, so the run is the plain model). */
const ATTRIBUTION_KEY = 'objective.attribution.all-sites';

const allSites = (nLayers: number): DeltaSite[] => Array.from({ length: nLayers }, (_, layer) => SITES.map((site) => ({ layer, site }))).flat();

/** The objective graph's output names per model config (they depend on the shape of the model, never on its weights). */
const outputNames = new WeakMap<LoadedModel['config'], readonly string[]>();

/** The objective graph's session for `model` (the one answerGradients runs), cached, and its output names. */
async function attributionSession(model: LoadedModel): Promise<{ session: Awaited<ReturnType<LoadedModel['sessions']['getCustom']>>; outputs: readonly string[] }> {
  const cfg = model.config;
  const spec = { fromLayer: 0, deltas: allSites(cfg.n_layers) };
  const session = await model.sessions.getCustom(ATTRIBUTION_KEY, (p) => {
    const graph = buildObjectiveGraph(cfg, p, spec);
    outputNames.set(cfg, graph.outputs);
    return graph.spec;
  });
  // Building the graph only for its names costs a GPT-2-small preview tens of ms of JS (bench attribution): once per config.
  let outputs = outputNames.get(cfg);
  if (!outputs) {
    outputs = buildObjectiveGraph(cfg, (n) => model.param(n), spec).outputs;
    outputNames.set(cfg, outputs);
  }
  return { session, outputs };
}

/**
 * Creates the attribution preview's session ahead of a request (prepareAttributionPreview, in a worker's
 * idle time): ORT's creation of this forward + backward graph is the preview's cold cost (measured on
 * the GPT-2-small-shaped bench model, 12 layers, 2 cores under load: 7.8 s CPU, +1.25 GB RSS), while a
 * warm preview is a fraction of a second.
 */
export async function prepareAttributionSession(model: LoadedModel): Promise<void> {
  await attributionSession(model);
}

/**
 * log p(answer) and ∂ log p / ∂(attn.out, mlp.out) of every layer at every position, for one row whose
 * first residual stream (`resid`, [1, pos, d_model], e.g. with the subject noised) is given: one forward
 * and one backward through the objective graph (autodiff/objective.ts) with a zero delta at every hook
 * site — the gradient with respect to a delta added at a site is the gradient with respect to the site.
 * `scored[k]` is the position whose logits predict `answerIds[k]` (teacher forcing for a sequence).
 */
export async function answerGradients(model: LoadedModel, resid: Tensor, scored: readonly number[], answerIds: readonly number[], signal?: AbortSignal): Promise<AnswerGradients> {
  const cfg = model.config;
  const [rows, T, D] = resid.shape;
  if (rows !== 1) throw new Error(`answerGradients: one row expected, got ${rows}`);
  if (scored.length !== answerIds.length) throw new Error('answerGradients: one scored position per answer token');
  const deltas = allSites(cfg.n_layers);
  // The session is created once and kept (the cache drops it when a baked-in weight changes).
  const { session, outputs } = await attributionSession(model);
  if (signal?.aborted) throw new LocusError('cancelled', 'attribution cancelled');
  const n = scored.length;
  const feeds: Record<string, Feed> = {
    [OBJECTIVE_INPUT.resid]: resid,
    [OBJECTIVE_INPUT.rows]: { shape: [n], ids: BigInt64Array.from(scored.map((p) => BigInt(p))) }, // flat b·pos + t with b = 0
    [OBJECTIVE_INPUT.targets]: { shape: [n], ids: BigInt64Array.from(answerIds.map((id) => BigInt(id))) },
    [OBJECTIVE_INPUT.weights]: { shape: [n], data: new Float32Array(n).fill(1) }, // loss = −Σ log p = −log p(answer sequence)
    ...blockFeeds(cfg, 0, T),
  };
  const keep = { shape: [1, T, 1], data: new Float32Array(T).fill(1) };
  const zero = { shape: [1, T, D], data: new Float32Array(T * D) };
  for (const d of deltas) {
    feeds[hookInput(d.layer, d.site, 'keep')] = keep;
    feeds[hookInput(d.layer, d.site, 'inject')] = zero;
  }
  const res = await session.run(feeds, outputs);
  const grads = new Map<string, Float32Array>();
  for (const d of deltas) {
    const g = res[gradName(hookInput(d.layer, d.site, 'inject'))].data; // [1, pos, d_model] of ∂(−log p)
    grads.set(`${d.layer}.${d.site}`, Float32Array.from(g, (v) => -v));
  }
  return { logProb: -res['loss'].data[0], grad: (site, layer) => grads.get(`${layer}.${site}`)! };
}
