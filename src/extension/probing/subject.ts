/**
 * Guessing the subject of a free prompt for "Trace Selection": the longest run of capitalised words
 * (allowing inner lowercase connectives such as "of", "de", "the" between capitalised words, as in
 * "Pope Gregory of Tours"), ignoring a capitalised first word that is only sentence-initial when a
 * later span exists. Pure, so the tests pin its behaviour.
 */
const CONNECTIVES = new Set(['of', 'de', 'da', 'del', 'der', 'van', 'von', 'the', 'la', 'le', 'du', 'and', 'y']);

export interface Span {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export function capitalisedSpans(text: string): Span[] {
  const words = [...text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'’.-]*/gu)].map((m) => ({ start: m.index!, end: m.index! + m[0].length, w: m[0] }));
  const capital = (w: string) => /^\p{Lu}/u.test(w);
  // words of one name are separated by spaces only (a comma or period ends the span)
  const joined = (a: number, b: number) => /^\s+$/u.test(text.slice(words[a].end, words[b].start));
  const spans: Span[] = [];
  let i = 0;
  while (i < words.length) {
    if (!capital(words[i].w)) {
      i++;
      continue;
    }
    let j = i;
    // extend over capitalised words, and over connectives only when a capitalised word follows
    while (j + 1 < words.length) {
      if (capital(words[j + 1].w) && joined(j, j + 1)) j++;
      else if (CONNECTIVES.has(words[j + 1].w) && j + 2 < words.length && capital(words[j + 2].w) && joined(j, j + 1) && joined(j + 1, j + 2)) j += 2;
      else break;
    }
    const start = words[i].start;
    const end = words[j].end.valueOf();
    spans.push({ start, end, text: text.slice(start, end).replace(/(['’]s|\.)$/u, '') });
    i = j + 1;
  }
  return spans;
}

/** The subject to pre-fill: the longest capitalised span (ties: the earliest), else the whole text. */
export function guessSubject(prompt: string): string {
  const spans = capitalisedSpans(prompt);
  if (spans.length === 0) return prompt.trim();
  // A lone sentence-initial word ("The", "In") is a weak guess when there is another span.
  const candidates = spans.length > 1 && spans[0].start === prompt.search(/\S/) && !/\s/.test(spans[0].text) ? spans.slice(1) : spans;
  return candidates.reduce((best, s) => (s.text.length > best.text.length ? s : best)).text;
}
