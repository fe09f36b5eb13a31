/**
 * A study's ROME edits start from the same unedited model, so their v* optimisations are independent:
 * before a run of cases, the v* of every ROME unit among them is computed in lockstep, one batched graph
 * per layer and width group (rome/valueStars.ts), and left in the study's EditReuse, where each edit's
 * computeValueStar finds it under its own key (issue 17 item 4). An edit whose inputs differ from what
 * was planned (another key) computes its own, so the study's numbers never depend on this step beyond
 * float error (test/model/valueStars.test.ts).
 */
import type { LoadedModel } from '../../model/model';
import type { EditReuse } from '../edit/editReuse';
import { planEdit } from '../edit/runEdit';
import type { EditJob } from '../edit/runEdit';
import type { RomeHparams } from '../rome/hparams';
import { romeTargetIds } from '../rome/index';
import { valueStarKey, valueStarRows } from '../rome/computeValue';
import { lockstepFits, prefetchValueStars } from '../rome/valueStars';
import type { ValueStarItem } from '../rome/valueStars';

/** Cases whose ROME edits are planned together (up to this many facts per batched graph, per layer). */
export const LOCKSTEP_CASES = 8;

/**
 * Facts whose suffix rows (lookup token … end) differ in length by more than this do not share a batch:
 * every row is padded to the longest, and on the embedded model one padded position of 22 rows costs
 * about what a separate graph run's fixed cost saves (measured: ~0.16 ms per row position, ~4.5 ms a run).
 */
const WIDTH_SPREAD = 1;

/** The ROME units' v* items (one-layer, one-request, plain objective, batchable), each once. */
async function valueStarItems(model: LoadedModel, jobs: readonly EditJob[]): Promise<ValueStarItem[]> {
  const items = new Map<string, ValueStarItem>();
  for (const job of jobs) {
    // Only ROME's compute hands the study's reuse to computeValueStar (rome/method.ts).
    if (job.method !== 'rome' || job.cases.length !== 1 || job.contextTemplates !== undefined) continue;
    const plan = await planEdit(model, job);
    if (plan.forcing || plan.objective !== 'nll' || plan.h.layers.length !== 1) continue;
    const request = plan.specs[0].request;
    const h = plan.h as RomeHparams;
    const item: ValueStarItem = { layer: h.layers[0], prompt: request.prompt, subject: request.subject, targetIds: romeTargetIds(model.tokenizer, request), templates: plan.templates.list, hparams: h };
    if (lockstepFits(model, item)) items.set(valueStarKey(item.layer, item.prompt, item.subject, item.targetIds, item.templates, h, false), item);
  }
  return [...items.values()];
}

/** Groups of items that share one batched graph: same layer, suffix widths within WIDTH_SPREAD, at most LOCKSTEP_CASES. */
export function lockstepGroups(model: LoadedModel, items: readonly ValueStarItem[]): ValueStarItem[][] {
  const width = (it: ValueStarItem): number => {
    const { rows, lookups } = valueStarRows(model, it.prompt, it.subject, it.targetIds, it.templates, it.hparams.fact_token);
    return Math.max(...rows.map((r, i) => r.length - lookups[i]));
  };
  const sorted = items.map((it) => ({ it, w: width(it) })).sort((a, b) => a.it.layer - b.it.layer || a.w - b.w);
  const groups: Array<{ layer: number; w0: number; items: ValueStarItem[] }> = [];
  for (const { it, w } of sorted) {
    const last = groups[groups.length - 1];
    if (last && last.layer === it.layer && w - last.w0 <= WIDTH_SPREAD && last.items.length < LOCKSTEP_CASES) last.items.push(it);
    else groups.push({ layer: it.layer, w0: w, items: [it] });
  }
  return groups.map((g) => g.items);
}

/** Computes the jobs' ROME v* in lockstep into `reuse` (jobs: the study's units as runEdit will run them, sharing `reuse`). */
export async function prefetchStudyValueStars(model: LoadedModel, jobs: readonly EditJob[], reuse: EditReuse, signal?: AbortSignal): Promise<void> {
  const items = await valueStarItems(model, jobs);
  // A lone item gains nothing from a batch: its edit computes it as usual.
  for (const group of lockstepGroups(model, items)) if (group.length > 1) await prefetchValueStars(model, group, reuse, signal);
}
