import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import type { ActName } from '../../model/names';
import { lookupIndex } from '../rome/lookup';
import type { MemitHparams } from './hparams';

/**
 * MEMIT's context templates: groups of templates with one "{}" each (kmeng01/memit memit_main.py
 * get_context_templates: `[["{}"], [<5 generated prefixes> + ". {}"]]`). Keys are averaged within
 * each group, then the group means are averaged (compute_ks.py); z's rewriting prompts are every
 * template of every group, flattened in order (compute_z.py).
 */
export type TemplateGroups = readonly (readonly string[])[];

/** Python's `template.format(s)` for a template with one "{}" (a function replacement, so "$" in s stays literal). */
export function fillTemplate(template: string, s: string): string {
  return template.replace('{}', () => s);
}

/** A flat template list (ROME's shape) as one group: MEMIT then averages keys plainly, as ROME's k*. */
export function asTemplateGroups(t: readonly string[] | TemplateGroups): TemplateGroups {
  return t.every((x) => typeof x === 'string') ? [t as readonly string[]] : (t as TemplateGroups);
}

export interface SubjectPrompt {
  readonly prompt: string;
  readonly subject: string;
}

/**
 * One activation at each sentence's lookup token: repr_tools.get_reprs_at_word_tokens, which
 * compute_ks and get_module_input_output_at_words call. `templates[i]` holds "{}" for `subjects[i]`.
 * Returns float64 rows [templates.length][d].
 */
async function readsAtLookup(model: LoadedModel, site: ActName, templates: readonly string[], subjects: readonly string[], factToken: MemitHparams['fact_token'], signal?: AbortSignal): Promise<Float64Array[]> {
  const tok = model.tokenizer;
  const idxs = templates.map((t, i) => lookupIndex(tok, t, subjects[i], factToken));
  const batch = templates.map((t, i) => tok.encode(fillTemplate(t, subjects[i])).ids);
  const { acts } = await forward(forwardContext(model), batch, { fetch: [site], logits: 'none', signal });
  const x = acts.get(site)!;
  const [, T, d] = x.shape;
  return idxs.map((idx, i) => Float64Array.from(x.data.subarray((i * T + idx) * d, (i * T + idx + 1) * d)));
}

/**
 * compute_ks: the MLP keys (input of W_out, our blocks.{l}.mlp.post) of each request at its lookup
 * token, with the request's prompt placed in every template; averaged within each group, then over
 * groups. Runs on the model as it is now (MEMIT recomputes them after earlier layers' updates).
 * Returns one float64 key [d_mlp] per request, in request order.
 */
export async function computeKs(model: LoadedModel, layer: number, requests: readonly SubjectPrompt[], groups: TemplateGroups, factToken: MemitHparams['fact_token'], signal?: AbortSignal): Promise<Float64Array[]> {
  const templates = requests.flatMap((r) => groups.flatMap((g) => g.map((c) => fillTemplate(c, r.prompt))));
  const subjects = requests.flatMap((r) => groups.flatMap((g) => g.map(() => r.subject)));
  const reads = await readsAtLookup(model, `blocks.${layer}.mlp.post`, templates, subjects, factToken, signal);
  const M = model.config.d_mlp;
  const perRequest = groups.reduce((n, g) => n + g.length, 0);
  return requests.map((_, r) => {
    const key = new Float64Array(M);
    let at = r * perRequest;
    for (const g of groups) {
      const groupMean = new Float64Array(M);
      for (let i = 0; i < g.length; i++, at++) for (let j = 0; j < M; j++) groupMean[j] += reads[at][j] / g.length;
      for (let j = 0; j < M; j++) key[j] += groupMean[j] / groups.length;
    }
    return key;
  });
}

/**
 * The current output of block `zLayer` (blocks.{zLayer}.resid_post, MEMIT's `layer_module_tmp`
 * output) at each request's own prompt's lookup token: execute_memit's `cur_zs`. Float64 [d_model] each.
 */
export async function currentZs(model: LoadedModel, zLayer: number, requests: readonly SubjectPrompt[], factToken: MemitHparams['fact_token'], signal?: AbortSignal): Promise<Float64Array[]> {
  return readsAtLookup(model, `blocks.${zLayer}.resid_post`, requests.map((r) => r.prompt), requests.map((r) => r.subject), factToken, signal);
}
