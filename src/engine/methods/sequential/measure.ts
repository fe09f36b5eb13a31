/**
 * One point of the sequential curves: every edit so far scored against the UNEDITED model's
 * measurement (not the model as it was when that edit was made: EasyEdit measured locality against an
 * already-edited model until its #643, research/editors.md §2.6), held-out perplexity, and ‖W‖_F of
 * every edited parameter against its value before the run (norm growth, editors.md §2.3).
 */
import type { LoadedModel } from '../../model/model';
import type { ParamName } from '../../model/names';
import { layerOf } from '../../model/names';
import { probeCase, scoreCase } from '../edit/evaluateEdit';
import type { CaseProbe } from '../edit/evaluateEdit';
import type { FactCase, ProblemSpec } from '../problems/problems';
import { heldOutPerplexity } from './heldOut';
import type { CurvePoint, SequentialScores, WeightNorm } from './types';

/** Mean of the finite values (a request without paraphrases has NaN there); NaN when none. */
function meanOf(xs: readonly number[]): number {
  const ok = xs.filter((x) => !Number.isNaN(x));
  return ok.length === 0 ? NaN : ok.reduce((a, b) => a + b, 0) / ok.length;
}

export function frobeniusOf(data: Float32Array): number {
  let s = 0;
  for (const x of data) s += x * x;
  return Math.sqrt(s);
}

export interface MeasureInputs {
  readonly cases: readonly FactCase[];
  readonly specs: readonly ProblemSpec[];
  /** Each case's probe on the unedited model. */
  readonly pre: readonly CaseProbe[];
  readonly windows: readonly number[][];
  /** ‖W‖_F before the run, per parameter edited so far. */
  readonly originalNorms: ReadonlyMap<ParamName, number>;
  readonly firstOnly?: boolean;
}

export async function measurePoint(model: LoadedModel, inputs: MeasureInputs, edits: number, batches: number, signal?: AbortSignal): Promise<CurvePoint> {
  let scores: SequentialScores | null = null;
  if (edits > 0) {
    const per: Array<ReturnType<typeof scoreCase>> = [];
    for (let i = 0; i < edits; i++) {
      const post = await probeCase(model, inputs.cases[i], inputs.specs[i], signal);
      per.push(scoreCase(inputs.pre[i], post, inputs.specs[i], inputs.firstOnly));
    }
    const m = (f: (s: (typeof per)[number]) => number): number => meanOf(per.map(f));
    scores = {
      rewrite: m((s) => s.metrics.rewrite),
      paraphrase: m((s) => s.metrics.paraphrase),
      neighborhood: m((s) => s.metrics.neighborhood),
      overall: m((s) => s.metrics.overall),
      efficacySuccess: m((s) => s.rome.efficacy),
      paraphraseSuccess: m((s) => s.rome.paraphrase),
      neighborhoodSuccess: m((s) => s.rome.neighborhood),
    };
  }
  const perplexity = await heldOutPerplexity(model, inputs.windows, signal);
  const weightNorms: WeightNorm[] = [...inputs.originalNorms].map(([param, original]) => {
    const norm = frobeniusOf(model.param(param).data);
    return { param, layer: layerOf(param as never) ?? -1, norm, original, growth: norm / original };
  });
  weightNorms.sort((a, b) => a.layer - b.layer || a.param.localeCompare(b.param));
  return { edits, batches, scores, perplexity, weightNorms };
}
