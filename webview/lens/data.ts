/**
 * The Logit Lens panel's numbers shaped for its two maps (pure: test/webview checks them in Node): cell
 * texts, colours, the top-K tooltip and the CSV tables. A result is `locus lens --json`
 * (LensResultDto): layers[l].positions[t].top (highest first) and .answer (rank, probability).
 */
import type { LensAnswerDto, LensResultDto, LensTokenDto } from '../../src/protocol/panels/lens';
import { rampColour } from '../shared/colour';
import type { CsvValue } from '../shared/csv';
import { shownToken } from '../shared/gridData';

/** ColorBrewer Blues (9 classes, light to dark): the top-1 map, by probability. */
export const TOP_RAMP: readonly string[] = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
/** ColorBrewer Oranges: the answer map, by log₁₀ probability. */
export const ANSWER_RAMP: readonly string[] = ['#fff5eb', '#fee6ce', '#fdd0a2', '#fdae6b', '#fd8d3c', '#f16913', '#d94801', '#a63603', '#7f2704'];
/** The answer map's colour floor: probabilities at or below 10⁻⁶ are the lightest colour. */
export const ANSWER_LOG_FLOOR = -6;

/** A probability as a short percentage: "43%", "0.8%", "<0.1%". */
export function percent(p: number): string {
  if (!Number.isFinite(p)) return '—';
  if (p >= 0.995) return '100%';
  if (p >= 0.1) return `${Math.round(p * 100)}%`;
  if (p >= 0.001) return `${(p * 100).toFixed(1)}%`;
  return '<0.1%';
}

/** A probability that may be tiny: a percentage down to 0.1%, then scientific ("2e-6"). */
export function probShort(p: number): string {
  return p >= 0.001 ? percent(p) : p > 0 ? p.toExponential(0) : '0';
}

/** A token for a narrow cell: control characters escaped, cut to `width` characters. */
export function cellToken(token: string, width = 10): string {
  const t = shownToken(token);
  return t.length > width ? t.slice(0, width - 1) + '…' : t;
}

/** A token quoted for tooltips and tables ("␣Paris" reads worse than " Paris" in quotes). */
export const quotedToken = (token: string): string => JSON.stringify(token);

export const topColour = (prob: number): string => rampColour(TOP_RAMP, prob);

export function answerColour(prob: number): string {
  const x = prob > 0 ? (Math.log10(prob) - ANSWER_LOG_FLOOR) / -ANSWER_LOG_FLOOR : 0;
  return rampColour(ANSWER_RAMP, x);
}

/** The cell's top tokens (at most k, highest first). */
export const topOf = (r: LensResultDto, l: number, t: number, k: number): readonly LensTokenDto[] => r.layers[l].positions[t].top.slice(0, k);

/** The tooltip of a cell: where it is, then its top-K (and the answer's standing when followed). */
export function cellTooltip(r: LensResultDto, l: number, t: number, k: number): string {
  const cell = r.layers[l].positions[t];
  const head = `layer ${r.layers[l].layer}, position ${t} (${quotedToken(r.tokens[t])}): top ${Math.min(k, cell.top.length)}`;
  const lines = topOf(r, l, t, k).map((c, i) => `${i + 1}. ${quotedToken(c.token)}  ${percent(c.prob)}`);
  const answer = cell.answer ? [`answer ${quotedToken(cell.answer.token)}: rank ${cell.answer.rank}, p = ${probShort(cell.answer.prob)}`] : [];
  return [head, ...lines, ...answer].join('\n');
}

export function answerText(a: LensAnswerDto): string {
  return `#${a.rank} · ${probShort(a.prob)}`;
}

/** CSV of the top-K map: one row per (layer, position, k). */
export function topCsv(r: LensResultDto, k: number): CsvValue[][] {
  const rows: CsvValue[][] = [['layer', 'position', 'input_token', 'k', 'token', 'id', 'prob', 'logprob']];
  r.layers.forEach(({ layer, positions }, l) =>
    positions.forEach((_, t) => topOf(r, l, t, k).forEach((c, i) => rows.push([layer, t, shownToken(r.tokens[t]), i + 1, shownToken(c.token), c.id, c.prob, c.logprob]))),
  );
  return rows;
}

/** CSV of the answer map: one row per (layer, position). */
export function answerCsv(r: LensResultDto): CsvValue[][] {
  const rows: CsvValue[][] = [['layer', 'position', 'input_token', 'answer_token', 'answer_id', 'rank', 'prob', 'logprob']];
  for (const { layer, positions } of r.layers) {
    positions.forEach((p, t) => {
      if (p.answer) rows.push([layer, t, shownToken(r.tokens[t]), shownToken(p.answer.token), p.answer.id, p.answer.rank, p.answer.prob, p.answer.logprob]);
    });
  }
  return rows;
}
