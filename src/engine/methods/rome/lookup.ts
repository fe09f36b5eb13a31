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
  const len = (s: string): number => (s.length === 0 ? 0 : tok.encode(s).ids.length);
  const [p, w, s] = [len(prefix), len(word), len(suffix)];
  if (factToken === 'last') return p + w + s - 1;
  if (factToken === 'subject_first') return p;
  if (factToken === 'subject_first_after_last') return p + w - (s === 0 ? 1 : 0);
  return p + w - 1;
}
