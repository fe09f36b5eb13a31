import type { CurvePoint } from './types';

const f = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits));

/** The largest ‖W‖_F growth over the edited parameters (1 at 0 edits). */
export const maxGrowth = (p: CurvePoint): number => p.weightNorms.reduce((m, w) => Math.max(m, w.growth), 1);

/**
 * The curves as a text table: edits so far vs the mean seed-paper scores of all edits so far,
 * held-out perplexity and the largest ‖W‖_F growth (`locus edit --sequential`, the benchmark).
 */
export function formatCurveTable(curve: readonly CurvePoint[]): string {
  const rows = [['edits', 'rewrite', 'paraphrase', 'neighborhood', 'perplexity', 'max ‖W‖ growth']];
  for (const p of curve) rows.push([String(p.edits), f(p.scores?.rewrite), f(p.scores?.paraphrase), f(p.scores?.neighborhood), f(p.perplexity, 2), f(maxGrowth(p), 4)]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((x, c) => x.padStart(widths[c])).join('  ')).join('\n');
}
