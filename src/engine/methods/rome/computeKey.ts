import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import { choleskyFactorShared, choleskySolve, norm } from '../linalg';
import type { RomeHparams } from './hparams';
import { lookupIndex } from './lookup';
import type { SubjectNoiser } from '../subjectNoise';

/** The MLP's key (input of W_out) and, when asked, its output at the lookup token of each template. */
export interface TemplateReads {
  /** Mean key over the templates, float64 [d_mlp]. */
  readonly key: Float64Array;
  readonly keys: Float64Array[];
  /** Mean MLP output (blocks.{l}.mlp.out) over the templates, [d_model]; empty unless `withOutputs`. */
  readonly out: Float64Array;
  readonly outs: Float64Array[];
}

/**
 * Reads blocks.{l}.mlp.post (and mlp.out with `withOutputs`) at the fact's lookup token of the prompt placed
 * in each context template, and their means over the templates. ROME's k* (compute_u) and r-ROME's
 * k_update / v_old_update (rebuilding-rome rome/compute_v.py, enable_random_prefix_keys: each template run
 * alone, then averaged; a right-padded batch gives the same rows).
 */
export async function readAtTemplates(model: LoadedModel, layer: number, prompt: string, subject: string, templates: readonly string[], factToken: RomeHparams['fact_token'], withOutputs: boolean, signal?: AbortSignal, noiser?: SubjectNoiser): Promise<TemplateReads> {
  const contexts = templates.map((t) => t.replace('{}', prompt));
  const idxs = contexts.map((c) => lookupIndex(model.tokenizer, c, subject, factToken));
  const batch = contexts.map((c) => model.tokenizer.encode(c.replace('{}', subject)).ids);
  const post = `blocks.${layer}.mlp.post` as const;
  const out = `blocks.${layer}.mlp.out` as const;
  const minLen = Math.min(...batch.map((r) => r.length));
  const { acts } = await forward(forwardContext(model), batch, { fetch: withOutputs ? [post, out] : [post], logits: 'none', signal, interventions: noiser?.next(batch.length, minLen) });
  const rowsAndMean = (site: typeof post | typeof out): { rows: Float64Array[]; mean: Float64Array } => {
    const t = acts.get(site)!; // [templates, pos, d]
    const [, T, M] = t.shape;
    const mean = new Float64Array(M);
    const rows = idxs.map((idx, i) => {
      const row = Float64Array.from(t.data.subarray((i * T + idx) * M, (i * T + idx + 1) * M));
      for (let j = 0; j < M; j++) mean[j] += row[j] / idxs.length;
      return row;
    });
    return { rows, mean };
  };
  const k = rowsAndMean(post);
  const v = withOutputs ? rowsAndMean(out) : { rows: [], mean: new Float64Array(0) };
  return { key: k.mean, keys: k.rows, out: v.mean, outs: v.rows };
}

/**
 * k* (ROME eq. 3): the MLP key (input of W_out, our blocks.{l}.mlp.post) at the fact's lookup token,
 * averaged over the prompt placed in each context template. Returns float64 [d_mlp].
 */
export async function computeKeyStar(model: LoadedModel, layer: number, prompt: string, subject: string, templates: readonly string[], factToken: RomeHparams['fact_token'], signal?: AbortSignal, noiser?: SubjectNoiser): Promise<Float64Array> {
  return (await readAtTemplates(model, layer, prompt, subject, templates, factToken, false, signal, noiser)).key;
}

/** u = C⁻¹ k* / ‖C⁻¹ k*‖ (ROME eq. 2's left vector; without mom2_adjustment, k* normalized). */
export function leftVector(kStar: Float64Array, C: Float64Array | Float32Array | undefined): Float64Array {
  const n = kStar.length;
  const x = C ? choleskySolve(choleskyFactorShared(C, n), n, kStar) : Float64Array.from(kStar);
  const s = norm(x);
  return x.map((v) => v / s);
}
