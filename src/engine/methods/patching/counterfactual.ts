/**
 * Symmetric token replacement (Zhang & Nanda 2024, "Towards Best Practices of Activation Patching";
 * Meng et al. 2022 §A corrupt by noise instead): the corrupted prompt puts another subject of the same
 * token length in the subject's place, so every position lines up and patches are position-for-position.
 */
import type { CounterFactRecord } from '../../data/counterfact';
import { LocusError } from '../../errors';
import { forward } from '../../interp/forward';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';

export interface Counterfactual {
  readonly subject: string;
  /** The counterfactual fact's true answer (its record's target_true). */
  readonly answer: string;
  /** The record it came from, when chosen from CounterFact. */
  readonly caseId?: number;
}

const withSpace = (s: string): string => (/^\s/.test(s) ? s : ' ' + s);

/** The prompt with `subject` in place of `original` (first occurrence; a function so "$&" stays literal). */
export const replaceSubject = (prompt: string, original: string, subject: string): string => prompt.replace(original, () => subject);

/** Subject token spans of the clean and counterfactual prompts; a one-line error when they do not line up. */
export function alignedSpans(model: LoadedModel, prompt: string, subject: string, counterfactual: string): { span: [number, number]; cleanIds: number[]; corruptIds: number[] } {
  if (!prompt.includes(subject)) throw new LocusError('bad-input', `the prompt does not contain the subject "${subject}"`);
  const corruptPrompt = replaceSubject(prompt, subject, counterfactual);
  const clean = model.tokenizer.encode(prompt);
  const corrupt = model.tokenizer.encode(corruptPrompt);
  const [b, e] = model.tokenizer.findSpan(clean, prompt, subject);
  const [cb, ce] = model.tokenizer.findSpan(corrupt, corruptPrompt, counterfactual);
  if (ce - cb !== e - b || clean.ids.length !== corrupt.ids.length || cb !== b) {
    throw new LocusError('bad-input', `the counterfactual subject "${counterfactual}" has ${ce - cb} tokens in the prompt and "${subject}" has ${e - b}: give a subject of the same token length`);
  }
  return { span: [b, e], cleanIds: clean.ids, corruptIds: corrupt.ids };
}

/** The first answer token of `text` (a leading space added when missing). */
export function firstAnswerId(model: LoadedModel, text: string): number {
  const ids = model.tokenizer.encodeContinuation(withSpace(text)).ids;
  if (ids.length === 0) throw new LocusError('bad-input', 'the answer is empty');
  return ids[0];
}

/** The fact a counterfactual is chosen for: a CounterFact template ("{} is located in"), its subject and true answer. */
export interface PatchFact {
  readonly template: string;
  readonly subject: string;
  readonly answer: string;
  /** CounterFact's relation (e.g. P131); without it, records with the same template count as the same relation. */
  readonly relationId?: string;
  readonly caseId?: number;
}

/** The fact of a CounterFact record. */
export const patchFactOf = (r: CounterFactRecord): PatchFact => ({ template: r.requested_rewrite.prompt, subject: r.requested_rewrite.subject, answer: r.requested_rewrite.target_true.str, relationId: r.requested_rewrite.relation_id, caseId: r.case_id });

/**
 * A counterfactual for `fact` from `records`: the first other record (file order) of the same relation
 * whose subject has the same token length in the fact's prompt, a different subject and a different
 * first answer token (so the metric's clean − corrupted difference can be non-zero).
 */
export function chooseCounterfactual(model: LoadedModel, fact: PatchFact, records: readonly CounterFactRecord[]): Counterfactual {
  const prompt = fact.template.replace('{}', () => fact.subject);
  const answerId = firstAnswerId(model, fact.answer);
  const sameRelation = (o: CounterFactRecord['requested_rewrite']): boolean => (fact.relationId !== undefined ? o.relation_id === fact.relationId : o.prompt === fact.template);
  for (const other of records) {
    const o = other.requested_rewrite;
    if (other.case_id === fact.caseId || !sameRelation(o) || o.subject === fact.subject) continue;
    if (firstAnswerId(model, o.target_true.str) === answerId) continue;
    try {
      alignedSpans(model, prompt, fact.subject, o.subject);
    } catch {
      continue;
    }
    return { subject: o.subject, answer: o.target_true.str, caseId: other.case_id };
  }
  throw new LocusError('not-found', `no record of ${fact.relationId !== undefined ? `relation ${fact.relationId}` : `the template "${fact.template}"`} has a subject of the same token length as "${fact.subject}" and another answer: pass --counterfactual SUBJECT`);
}

/**
 * The answer for a counterfactual subject the user gave: its record's target_true when `records` hold
 * one with that subject, else the corrupted prompt's most probable next token other than the answer.
 */
export async function counterfactualFor(model: LoadedModel, fact: PatchFact, subject: string, records: readonly CounterFactRecord[]): Promise<Counterfactual> {
  const prompt = fact.template.replace('{}', () => fact.subject);
  const { corruptIds } = alignedSpans(model, prompt, fact.subject, subject);
  const rec = records.find((r) => r.requested_rewrite.subject === subject);
  if (rec) return { subject, answer: rec.requested_rewrite.target_true.str, caseId: rec.case_id };
  const logits = (await forward(forwardContext(model), [corruptIds])).logits!.data; // [d_vocab]
  const answerId = firstAnswerId(model, fact.answer);
  let best = -1;
  for (let i = 0; i < logits.length; i++) if (i !== answerId && (best < 0 || logits[i] > logits[best])) best = i;
  return { subject, answer: model.tokenizer.decode([best]) };
}
