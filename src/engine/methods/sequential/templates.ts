/**
 * Context templates are sampled by generating text with the model, so they depend on its weights. A
 * sequential run samples them once, on the unedited model, and every batch uses them: an uninterrupted
 * run would otherwise sample them at batch 0 and a resumed run at its first new batch, on weights that
 * already carry the earlier batches (and the two runs would differ). The method's template kind and the
 * EditReuse keys are the registry's own (registry/templates.ts), filled here before any batch is applied.
 */
import type { LoadedModel } from '../../model/model';
import type { EditReuse } from '../edit/editReuse';
import { mergeHparams } from '../edit/hparamValues';
import type { EditMethod } from '../edit/runEdit';
import { methodSpec } from '../registry/index';
import type { LayeredHparams } from '../registry/spec';
import { methodTemplates } from '../registry/templates';

export async function prefillTemplates(model: LoadedModel, reuse: EditReuse, method: EditMethod, hparams: Record<string, unknown> | undefined, seed: number, signal?: AbortSignal): Promise<void> {
  const spec = methodSpec(method);
  if (spec.templates === 'none') return;
  const merged = mergeHparams<LayeredHparams>(spec.preset(model.config).hparams, hparams ?? {}, spec.schema, 'hparams');
  await methodTemplates(model, spec.templates, merged.hparams, { seed, reuse, signal });
}
