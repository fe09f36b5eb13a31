import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import { choleskyFactorShared, choleskySolve, norm } from '../linalg';
import type { RomeHparams } from './hparams';
import { lookupIndex } from './lookup';
import type { SubjectNoiser } from '../subjectNoise';

/**
 * k* (ROME eq. 3): the MLP key (input of W_out, our blocks.{l}.mlp.post) at the fact's lookup token,
 * averaged over the prompt placed in each context template. Returns float64 [d_mlp].
 */
export async function computeKeyStar(model: LoadedModel, layer: number, prompt: string, subject: string, templates: readonly string[], factToken: RomeHparams['fact_token'], signal?: AbortSignal, noiser?: SubjectNoiser): Promise<Float64Array> {
  const contexts = templates.map((t) => t.replace('{}', prompt));
  const idxs = contexts.map((c) => lookupIndex(model.tokenizer, c, subject, factToken));
  const batch = contexts.map((c) => model.tokenizer.encode(c.replace('{}', subject)).ids);
  const site = `blocks.${layer}.mlp.post` as const;
  const minLen = Math.min(...batch.map((r) => r.length));
  const { acts } = await forward(forwardContext(model), batch, { fetch: [site], logits: 'none', signal, interventions: noiser?.next(batch.length, minLen) });
  const k = acts.get(site)!;
  const [, T, M] = k.shape;
  const mean = new Float64Array(M);
  idxs.forEach((idx, i) => {
    for (let j = 0; j < M; j++) mean[j] += k.data[(i * T + idx) * M + j] / idxs.length;
  });
  return mean;
}

/** u = C⁻¹ k* / ‖C⁻¹ k*‖ (ROME eq. 2's left vector; without mom2_adjustment, k* normalized). */
export function leftVector(kStar: Float64Array, C: Float64Array | Float32Array | undefined): Float64Array {
  const n = kStar.length;
  const x = C ? choleskySolve(choleskyFactorShared(C, n), n, kStar) : Float64Array.from(kStar);
  const s = norm(x);
  return x.map((v) => v / s);
}
