/**
 * The study's localization variable under `--localization patching`: the MLP patching effect per layer
 * with the tracing effect's conventions (study/sweep.ts STUDY_TRACE: MLP outputs, window 5, max over
 * tokens from the first subject token; and the value at the last subject token), from a counterfactual
 * of the same relation (chooseCounterfactual), so the seed paper's regression (§4, research/seed-paper.md)
 * can be rerun with it in place of the Gaussian-noise tracing effect.
 */
import type { CounterFactRecord } from '../../data/counterfact';
import { fillPrompt } from '../../data/counterfact';
import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import { chooseCounterfactual, patchFactOf } from './counterfactual';
import { runPatching } from './run';

/** Which localization a study regresses on: Causal Tracing's Gaussian noise, or activation patching. */
export type StudyLocalization = 'noise' | 'patching';
export const STUDY_LOCALIZATIONS: readonly StudyLocalization[] = ['noise', 'patching'];

export interface StudyPatchingEffect {
  readonly effect: number[];
  readonly effectLastSubject: number[];
  readonly counterfactualCaseId?: number;
  readonly seconds: number;
}

export async function studyPatchingEffect(model: LoadedModel, record: CounterFactRecord, records: readonly CounterFactRecord[], window: number, signal?: AbortSignal): Promise<StudyPatchingEffect> {
  const t0 = Date.now();
  const fact = patchFactOf(record);
  let cf;
  try {
    cf = chooseCounterfactual(model, fact, records);
  } catch (e) {
    if (e instanceof LocusError) throw new LocusError(e.code, `case ${record.case_id}: ${e.message.replace(/: pass --counterfactual SUBJECT$/, '')}; leave it out of --cases for --localization patching`);
    throw e;
  }
  const r = await runPatching(model, { prompt: fillPrompt(record), subject: fact.subject, counterfactualSubject: cf.subject, answer: fact.answer, counterfactualAnswer: cf.answer, kinds: ['mlp'], window }, { signal });
  const last = r.subjectRange[1] - 1;
  return { effect: r.effectByLayer.mlp!, effectLastSubject: r.grids.mlp!.effect[last], counterfactualCaseId: cf.caseId, seconds: (Date.now() - t0) / 1000 };
}
