/**
 * Context templates are sampled by generating text with the model, so they depend on its weights. A
 * sequential run samples them once, on the unedited model, and every batch uses them: an uninterrupted
 * run would otherwise sample them at batch 0 and a resumed run at its first new batch, on weights that
 * already carry the earlier batches (and the two runs would differ). The keys are runEdit's own
 * EditReuse keys (methods/edit/runEdit.ts), filled here before any batch is applied.
 */
import type { LoadedModel } from '../../model/model';
import type { EditReuse } from '../edit/editReuse';
import { romePreset } from '../edit/presets/choosePreset';
import type { EditMethod } from '../edit/runEdit';
import { mergeRomeHparams } from '../rome/hparams';
import { sampleContextTemplates, sampleMemitTemplates } from '../rome/templates';

export async function prefillTemplates(model: LoadedModel, reuse: EditReuse, method: EditMethod, hparams: Record<string, unknown> | undefined, seed: number, signal?: AbortSignal): Promise<void> {
  if (method === 'memit' || (method as string) === 'alphaedit' || (method as string) === 'emmet') {
    await reuse.get(`memit-templates|${seed}`, () => sampleMemitTemplates(model, seed, signal));
  }
  if (method === 'rome' || (method as string) === 'rrome') {
    const lengths = mergeRomeHparams(romePreset(model), hparams ?? {}, 'hparams').hparams.context_template_length_params;
    await reuse.get(`rome-templates|${JSON.stringify(lengths)}|${seed}`, () => sampleContextTemplates(model, lengths, seed, signal));
  }
}
