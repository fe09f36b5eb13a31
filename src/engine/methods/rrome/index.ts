import type { LoadedModel } from '../../model/model';
import { computeRome } from '../rome/index';
import type { RewriteRequest, RomeOptions, RomeResult } from '../rome/index';
import type { RromeHparams } from './hparams';
import { rromeKeys } from './hparams';

export interface RromeOptions extends Omit<RomeOptions, 'hparams' | 'keys' | 'method'> {
  readonly hparams: RromeHparams;
}

/**
 * r-ROME (Gupta, Baskaran, Anumanchipalli, "Rebuilding ROME", EMNLP 2024; scalable-model-editing/rebuilding-rome
 * rome/compute_u.py, compute_v.py): ROME's u and v* optimisation unchanged, but the update uses the same keys
 * as u: k_update = mean over the context templates of the key at the subject's last token, v_old_update = the
 * mean MLP output there, and v = (v_init + δ − v_old_update) / (k_update·u). ROME divides by the bare prompt's
 * k·u instead, which can be tiny (a "disabling edit"). Each layer's details carry the division factor
 * (`dotKU`) and the keys used (`kUpdate`, `updatePerTemplate`) for the safety check.
 * The flags choose p-ROME or ROME's own update as well (rromeKeys).
 */
export async function computeRrome(model: LoadedModel, request: RewriteRequest, o: RromeOptions): Promise<RomeResult> {
  return computeRome(model, request, { ...o, keys: rromeKeys(o.hparams), method: 'rrome' });
}

export { mergeRromeHparams, rromeKeys, RROME_GPT2_XL, RROME_GPT_J } from './hparams';
export type { RromeHparams } from './hparams';
