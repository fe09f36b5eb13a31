/**
 * Shaping trace grids for the heatmaps and their tables (pure). A grid arrives flat
 * (scores[t * layers + l], Float32Array) — see TraceGridWire in src/protocol/panels/fact.ts.
 */
import type { TraceKind } from '../../src/protocol/dto';
import type { TraceGridWire } from '../../src/protocol/panels/fact';
import type { CsvValue } from './csv';

/** A token drawn visibly: newlines, tabs and other control characters escaped (a bare "\n" label would be blank). */
export const shownToken = (token: string): string =>
  token.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));

/** Row labels as ROME draws them: subject tokens ([b, e)) end with '*'. */
export function tokenLabels(tokens: readonly string[], subjectRange: readonly [number, number]): string[] {
  const [b, e] = subjectRange;
  return tokens.map((t, i) => shownToken(t) + (i >= b && i < e ? '*' : ''));
}

export const cellAt = (g: Pick<TraceGridWire, 'layers' | 'scores'>, t: number, l: number): number => g.scores[t * g.layers + l];

/** The colour range of a grid: ROME's, from the trace's low score (all corrupted) to the grid's largest score. */
export function gridRange(g: Pick<TraceGridWire, 'scores'>, lowScore: number): { lo: number; hi: number } {
  let hi = lowScore;
  for (const v of g.scores) if (v > hi) hi = v;
  return { lo: lowScore, hi };
}

/** One matrix-chart point per cell: x = layer, y = token index, v = score. */
export function gridPoints(g: TraceGridWire): Array<{ x: number; y: number; v: number }> {
  const out: Array<{ x: number; y: number; v: number }> = [];
  for (let t = 0; t < g.tokens; t++) for (let l = 0; l < g.layers; l++) out.push({ x: l, y: t, v: cellAt(g, t, l) });
  return out;
}

/** Scores print with 4 decimals in tables (the full value is in data-value). */
export const score4 = (v: number): string => (Object.is(v, -0) || Math.abs(v) < 5e-5 ? 0 : v).toFixed(4);

/** Layer ticks: every layer for small models, every 5th for deep ones (as ROME labels). */
export const tickEvery = (layers: number): number => (layers <= 16 ? 1 : layers <= 40 ? 5 : 10);

/** CSV of one grid: a header of layers, then one row per token (label with '*', then the scores). */
export function gridCsv(g: TraceGridWire, tokens: readonly string[], subjectRange: readonly [number, number]): CsvValue[][] {
  const labels = tokenLabels(tokens, subjectRange);
  const head: CsvValue[] = ['token_index', 'token', ...Array.from({ length: g.layers }, (_, l) => `layer_${l}`)];
  const rows: CsvValue[][] = [head];
  for (let t = 0; t < g.tokens; t++) rows.push([t, labels[t], ...Array.from(g.scores.subarray(t * g.layers, (t + 1) * g.layers))]);
  return rows;
}

/** CSV of the tracing-effect curves: one row per layer, a column per (kind, variant). */
export function effectCsv(effect: Partial<Record<TraceKind, readonly number[]>>, last: Partial<Record<TraceKind, readonly number[]>>): CsvValue[][] {
  const kinds = (['hidden', 'mlp', 'attn'] as const).filter((k) => effect[k]);
  const layers = Math.max(0, ...kinds.map((k) => effect[k]!.length));
  const head: CsvValue[] = ['layer', ...kinds.flatMap((k) => [`${k}_max_over_tokens`, `${k}_last_subject_token`])];
  const rows: CsvValue[][] = [head];
  for (let l = 0; l < layers; l++) rows.push([l, ...kinds.flatMap((k) => [effect[k]![l], last[k]?.[l]])]);
  return rows;
}
