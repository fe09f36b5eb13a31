/**
 * Which text a model's key statistics C are collected over when the user names none.
 *
 * ROME estimates C = E[k kᵀ] over Wikipedia because that approximates GPT-2's training text: C⁻¹ is meant to
 * whiten the keys the model actually meets. The embedded default model was trained on WikiText-2 *and* the
 * CounterFact sample's fact statements (its MODEL_CARD.md); statement-shaped keys ("…, a product developed
 * by") are rare in WikiText, so C⁻¹ over WikiText alone weighs their directions up and a rank-one edit at
 * one subject spills onto every token of a fact prompt. Measured on the 6-epoch embedded model (20 known
 * facts, ROME at layer 0, Error Injection, 100 v steps): rewrite 0.843 → 0.881, neighborhood 0.976 → 0.993
 * with the statements added ("Google Patents, a product developed by → Microsoft": 0.14 → 0.81); with the
 * requested statements alone, 0.879 at 200 v steps against 0.900 with the attribute statements too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultDatasetPath, fillPrompt, loadCounterFact } from '../../data/counterfact';
import { defaultModelDir } from '../../model/locate';
import { defaultStatsCorpus } from './corpus';
import type { StatsCorpus } from './corpus';

/** Per dataset file, the corpus built from it (both inputs are bundled files, immutable while Locus runs). */
const built = new Map<string, StatsCorpus>();

/**
 * The embedded model's training text as documents: the bundled WikiText-2 rows (as `defaultStatsCorpus`),
 * then per CounterFact sample record its requested prompt completed with `target_true` and each attribute
 * prompt completed with `target_new` (their subjects' true object), the fact statements it was trained on.
 * Paraphrase prompts are left out (an edit's generalization is scored on them), and so are neighborhood
 * prompts as such; but CounterFact draws attribute and neighborhood prompts from the same pool of true
 * facts, so 7,605 of the 21,910 neighborhood statements are here as some other record's attribute
 * statement — as they were in the model's training text.
 */
export function embeddedModelStatsCorpus(datasetFile = defaultDatasetPath()): StatsCorpus {
  // Built once per process: a layer sweep asks for it at every edit (about 0.25 s to build).
  const cached = built.get(datasetFile);
  if (cached) return cached;
  const texts = [...defaultStatsCorpus().texts];
  for (const r of loadCounterFact(datasetFile)) {
    const rw = r.requested_rewrite;
    texts.push(`${fillPrompt(r)} ${rw.target_true.str}`);
    for (const a of r.attribute_prompts) texts.push(`${a} ${rw.target_new.str}`);
  }
  const corpus: StatsCorpus = { name: 'embedded-model-training-text', texts };
  built.set(datasetFile, corpus);
  return corpus;
}

/** True when `folder` is the embedded default model's folder (the same directory on disk). */
export function isEmbeddedModelFolder(folder: string): boolean {
  const embedded = defaultModelDir();
  if (embedded === undefined || !fs.existsSync(folder) || !fs.existsSync(embedded)) return false;
  return fs.realpathSync(path.resolve(folder)) === fs.realpathSync(path.resolve(embedded));
}

/** The default statistics corpus of the model loaded from `folder`: its training text for the embedded model, else WikiText-2. */
export function defaultStatsCorpusFor(folder: string): StatsCorpus {
  return isEmbeddedModelFolder(folder) ? embeddedModelStatsCorpus() : defaultStatsCorpus();
}
