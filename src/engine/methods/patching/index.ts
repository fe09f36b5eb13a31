export { runPatching, patchRuns, patchMetric, patchSite, headPatch, bothContributions } from './run';
export type { PatchOptions, PatchRuns } from './run';
export { patchedLogits, rowsAt } from './patched';
export type { SitePatch, PatchedRunOptions } from './patched';
export { chooseCounterfactual, counterfactualFor, patchFactOf, alignedSpans, firstAnswerId, replaceSubject } from './counterfactual';
export type { Counterfactual, PatchFact } from './counterfactual';
export { headContributions, assertHeadsSupported } from './heads';
export { PATCH_KINDS } from './types';
export type { PatchKind, PatchDirection, PatchMetric, PatchRequest, PatchGrid, PatchResult } from './types';
