import type { LocusTokenizer } from '../../model/tokenizer';
import type { RomeHparams } from './hparams';

/**
 * The token index where a fact is looked up (ROME's repr_tools.get_words_idxs_in_templates): the
 * template's prefix (its trailing space removed), the subject (with a leading space when a prefix
 * exists) and the suffix are tokenized separately, and the index is counted from their lengths.
 * This can differ from tokenizing the whole sentence at a merge across a boundary; ROME does it this
 * way, so we do too. `template` holds one "{}".
 */
export function lookupIndex(tok: LocusTokenizer, template: string, subject: string, factToken: RomeHparams['fact_token']): number {
  const at = template.indexOf('{}');
  let prefix = template.slice(0, at);
  const suffix = template.slice(at + 2);
  let word = subject;
  if (prefix.length > 0) {
    prefix = prefix.endsWith(' ') ? prefix.slice(0, -1) : prefix;
    word = ` ${subject.trim()}`;
  }
  // The first piece is the start of the document (BOS and, for SentencePiece, its `▁` come with it);
  // the later pieces continue it. For GPT-2 both counts are plain encode() lengths, as in ROME.
  const bos = tok.prefixIds.length;
  const startLen = (t: string): number => (t.length === 0 ? bos : tok.encode(t).ids.length);
  const contLen = (t: string): number => (t.length === 0 ? 0 : tok.encodeContinuation(t).ids.length);
  const p = startLen(prefix);
  const w = prefix.length > 0 ? contLen(word) : startLen(word) - bos;
  const s = contLen(suffix);
  if (factToken === 'last') return p + w + s - 1;
  if (factToken === 'subject_first') return p;
  if (factToken === 'subject_first_after_last') return p + w - (s === 0 ? 1 : 0);
  return p + w - 1;
}
