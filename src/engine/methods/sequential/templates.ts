/**
 * Context templates are sampled by generating text with the model, so they depend on its weights. A
 * sequential run samples them once, on the unedited model, and gives them to every batch: an
 * uninterrupted run would otherwise sample them at batch 0 and a resumed run at its first new batch, on
 * weights that already carry the earlier batches (and the two runs would differ). The method's template
 * kind and sampler are the registry's (registry/templates.ts). No EditReuse is shared between batches:
 * it caches measurements of the model as it is (the safety canary's "before"), which every batch changes.
 */
import type { LoadedModel } from '../../model/model';
import { mergeHparams } from '../edit/hparamValues';
import type { EditMethod } from '../edit/runEdit';
import { methodSpec } from '../registry/index';
import type { LayeredHparams } from '../registry/spec';
import { methodTemplates } from '../registry/templates';

/** The templates every batch uses (MEMIT's kind: its groups, which runEdit's contextTemplates accepts), or undefined for a method without. */
export async function sampleRunTemplates(model: LoadedModel, method: EditMethod, hparams: Record<string, unknown> | undefined, seed: number, signal?: AbortSignal): Promise<readonly string[] | undefined> {
  const spec = methodSpec(method);
  if (spec.templates === 'none') return undefined;
  const merged = mergeHparams<LayeredHparams>(spec.preset(model.config).hparams, hparams ?? {}, spec.schema, 'hparams');
  const t = await methodTemplates(model, spec.templates, merged.hparams, { seed, signal });
  return spec.templates === 'memit' ? (t.groups as unknown as readonly string[]) : t.list;
}
