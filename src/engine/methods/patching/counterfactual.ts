/**
 * Symmetric token replacement (Zhang & Nanda 2024, "Towards Best Practices of Activation Patching";
 * Meng et al. 2022 §A corrupt by noise instead): the corrupted prompt puts another subject of the same
 * token length in the subject's place, so every position lines up and patches are position-for-position.
 */
import type { CounterFactRecord } from '../../data/counterfact';
import { fillPrompt } from '../../data/counterfact';
import { LocusError } from '../../errors';
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

/**
 * A counterfactual for `record` from `records`: the first other record (file order) with the same
 * relation_id whose subject has the same token length in the record's prompt, a different subject and
 * a different first answer token (so the metric's clean − corrupted difference can be non-zero).
 */
export function chooseCounterfactual(model: LoadedModel, record: CounterFactRecord, records: readonly CounterFactRecord[]): Counterfactual {
  const rw = record.requested_rewrite;
  const prompt = fillPrompt(record);
  const answerId = firstAnswerId(model, rw.target_true.str);
  for (const other of records) {
    const o = other.requested_rewrite;
    if (other.case_id === record.case_id || o.relation_id !== rw.relation_id || o.subject === rw.subject) continue;
    if (firstAnswerId(model, o.target_true.str) === answerId) continue;
    try {
      alignedSpans(model, prompt, rw.subject, o.subject);
    } catch {
      continue;
    }
    return { subject: o.subject, answer: o.target_true.str, caseId: other.case_id };
  }
  throw new LocusError('not-found', `no record of relation ${rw.relation_id} has a subject of the same token length as "${rw.subject}" and another answer: pass --counterfactual SUBJECT`);
}
