/**
 * The context templates a method's spec asks for (spec.ts TemplateKind), sampled on the model as it is
 * or given by the user. The EditReuse keys are shared by every method of a kind, so a study or a
 * sequential run samples them once (sequential/templates.ts fills the same keys).
 */
import type { LoadedModel } from '../../model/model';
import { reused } from '../edit/editReuse';
import type { EditReuse } from '../edit/editReuse';
import type { TemplateGroups } from '../memit/computeKs';
import { asTemplateGroups } from '../memit/computeKs';
import { sampleContextTemplates, sampleMemitTemplates } from '../rome/templates';
import type { TemplateKind } from './spec';

export interface MethodTemplates {
  /** The flat list ('memit': the groups flattened; 'none': empty). */
  readonly list: readonly string[];
  /** 'memit' only (else empty). */
  readonly groups: TemplateGroups;
  /** What the edit's JSON reports (undefined for 'none'). */
  readonly reported?: readonly string[];
}

export interface TemplateOptions {
  /** The user's templates (`--context-templates`), used instead of sampling. */
  readonly given?: readonly string[];
  readonly seed: number;
  readonly reuse?: EditReuse;
  readonly signal?: AbortSignal;
}

/** `hparams.context_template_length_params` of a 'rome' kind method (ROME's [[length, count], …]). */
const lengthParams = (h: object): Array<[number, number]> => (h as { context_template_length_params: Array<[number, number]> }).context_template_length_params;

export async function methodTemplates(model: LoadedModel, kind: TemplateKind, hparams: object, o: TemplateOptions): Promise<MethodTemplates> {
  if (kind === 'rome') {
    const lengths = lengthParams(hparams);
    const list = o.given ?? (await reused(o.reuse, `rome-templates|${JSON.stringify(lengths)}|${o.seed}`, () => sampleContextTemplates(model, lengths, o.seed, o.signal)));
    return { list, groups: [], reported: list };
  }
  if (kind === 'memit') {
    const groups = o.given ? asTemplateGroups(o.given as never) : await reused(o.reuse, `memit-templates|${o.seed}`, () => sampleMemitTemplates(model, o.seed, o.signal));
    const list = groups.flat();
    return { list, groups, reported: list };
  }
  return { list: [], groups: [] };
}
