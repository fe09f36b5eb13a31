import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import type { Tensor } from '../../tensor/tensor';
import { RandomState } from './randomState';
import type { NoiseRule } from './types';

/**
 * ROME's collect_embedding_std: every subject tokenized alone (no leading space), their token
 * embeddings concatenated, the unbiased standard deviation over all elements (torch.std).
 */
export function embeddingStd(model: LoadedModel, subjects: readonly string[]): number {
  const W = model.param('embed.W_E');
  const D = model.config.d_model;
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (const s of subjects) {
    for (const id of model.tokenizer.encode(s).ids) {
      for (let i = 0; i < D; i++) {
        const v = W.data[id * D + i];
        sum += v;
        sq += v * v;
        n++;
      }
    }
  }
  if (n < 2) throw new LocusError('bad-input', 'the noise subjects have no tokens: give at least one non-empty subject');
  const mean = sum / n;
  return Math.sqrt((sq - n * mean * mean) / (n - 1));
}

/** σ for a rule: `s3` = 3 × embedding std, `sF` = F × std, a number = itself. */
export function noiseLevel(model: LoadedModel, rule: NoiseRule, subjects: readonly string[]): number {
  if (typeof rule === 'number') {
    if (!(rule >= 0)) throw new LocusError('bad-input', `noise must be ≥ 0 (got ${rule})`);
    return rule;
  }
  const m = /^s(\d+(\.\d+)?)$/.exec(rule);
  if (!m) throw new LocusError('bad-input', `noise rule "${rule}" is not understood: use s3, sF (F × embedding std) or a number`);
  return Number(m[1]) * embeddingStd(model, subjects);
}

/**
 * The corruption added to the subject's token embeddings of noised rows: σ · RandomState(seed).randn(S, e−b, d_model),
 * computed in float64 as ROME does, stored as the float32 values added. The same draws serve every
 * run of a trace (ROME re-creates the RandomState for each call).
 */
export function noiseDraws(samples: number, span: number, d: number, sigma: number, seed: number): Tensor {
  const z = new RandomState(seed).randn(samples, span, d);
  return { shape: [samples, span, d], data: Float32Array.from(z, (v) => v * sigma) };
}
