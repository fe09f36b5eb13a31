import { LocusError } from '../../errors';
import type { ForwardContext } from '../../interp/forward';
import type { Intervention } from '../../interp/interventions';
import { pastSlice, suffixBlock, suffixInputs, suffixPick } from '../../interp/suffix';
import type { ActName } from '../../model/names';
import type { Tensor } from '../../tensor/tensor';
import type { Cell } from './cells';
import type { TraceKind } from './types';

export const siteOf = (kind: TraceKind, layer: number): ActName => (kind === 'hidden' ? `blocks.${layer}.resid_post` : `blocks.${layer}.${kind}.out`);

/** Row r's value at position t of a [batch, pos, d] tensor. */
export function cellValue(x: Tensor, row: number, t: number): Float32Array {
  const [, pos, d] = x.shape;
  return x.data.subarray((row * pos + t) * d, (row * pos + t + 1) * d);
}

/** What the token sweep reads from the clean and corrupted runs. */
export interface SweepRuns {
  /** Prompt (+ teacher-forced answer) length. */
  readonly T: number;
  /** Noised copies. */
  readonly S: number;
  /** The clean run's activation at a site: [1, T, d_model]. */
  readonly clean: (site: ActName) => Tensor;
  /** The corrupted run's residual stream entering block f (f = L: the last block's output): [S, T, d_model]. */
  readonly residIn: (f: number) => Tensor;
  /** The corrupted run's keys and values at layer l: [S, n_kv_heads, T, d_head]. */
  readonly kv: (l: number) => { k: Tensor; v: Tensor };
  /** Scored positions (absolute) and the answer's ids scored there. */
  readonly scored: readonly number[];
  readonly answerIds: readonly number[];
  readonly signal?: AbortSignal;
}

/**
 * S rows that run as one: every cell in `cells` has had the same input and the same restores so far,
 * so their runs are identical up to here (ROME's per-cell runs, shared: research/performance.md §4.3
 * item 5, "prefix trie across window cells").
 */
interface RowGroup {
  cells: Cell[];
  r0: number;
}

/** What a cell restores at layer l inside the block: its kind's output there, or nothing. */
const restoreAt = (c: Cell, l: number): TraceKind | 'none' => (c.kind !== 'hidden' && c.restored.includes(l) ? c.kind : 'none');

/**
 * Scores `cells` (all restoring token t) in one token-major sweep. Every cell restoring token t changes
 * only positions ≥ t, so the batch runs positions t … T−1 against the corrupted run's cached keys/values
 * of 0 … t−1, layer by layer; a cell's S rows join at the first block its restore changes (its `start`),
 * from the corrupted residual stream there. Window cells that join at the same block share rows until
 * their restores differ (a window ends, or one restores attention where another restores the MLP): the
 * group's rows are then copied for the cells that split off. For GPT-2 small with W = 10 this runs 242
 * instead of 312 block-rows of S per token (the six windows starting at layer 0 share layers 0–4).
 * Exact: each cell's rows see the same inputs and restores as its own run (ROME's trace_with_patch);
 * only the rows sharing a batch differ. Returns each cell's mean p(answer) over the S rows.
 */
export async function sweepToken(ctx: ForwardContext, runs: SweepRuns, t: number, cells: readonly Cell[]): Promise<Map<Cell, number>> {
  const { T, S } = runs;
  const cfg = ctx.config;
  const L = cfg.n_layers;
  const D = cfg.d_model;
  const n = T - t;
  const rowFloats = S * n * D;
  const shared = suffixInputs(cfg, t, n);
  let X: Float32Array = new Float32Array(0); // [R, n, D]
  const groups: RowGroup[] = [];
  const rows = (): number => groups.length * S;

  const join = (layer: number): void => {
    const joining = cells.filter((c) => c.start === layer);
    if (joining.length === 0) return;
    // Hidden cells each replace position t with their own clean state; window cells all start from the
    // corrupted stream (their restores, inside this block, split them by restoreAt).
    const windows = joining.filter((c) => c.kind !== 'hidden');
    const fresh: Cell[][] = [...joining.filter((c) => c.kind === 'hidden').map((c) => [c]), ...(windows.length ? [windows] : [])];
    const base = runs.residIn(layer);
    const next = new Float32Array(X.length + fresh.length * rowFloats);
    next.set(X);
    for (const members of fresh) {
      const r0 = rows();
      for (let r = 0; r < S; r++) next.set(base.data.subarray((r * T + t) * D, (r * T + T) * D), (r0 + r) * n * D);
      const c = members[0];
      if (c.kind === 'hidden') {
        const v = cellValue(runs.clean(siteOf('hidden', c.layer)), 0, t);
        for (let r = 0; r < S; r++) next.set(v, (r0 + r) * n * D);
      }
      groups.push({ cells: members, r0 });
    }
    X = next;
  };

  /** Splits every group whose cells restore different things at layer l; the split-off cells get a copy of the rows. */
  const split = (l: number): void => {
    const copies: Array<{ from: number; cells: Cell[] }> = [];
    for (const g of groups) {
      const parts = new Map<string, Cell[]>();
      for (const c of g.cells) parts.set(restoreAt(c, l), [...(parts.get(restoreAt(c, l)) ?? []), c]);
      if (parts.size < 2) continue;
      const [keep, ...rest] = [...parts.values()];
      g.cells = keep;
      for (const cellsOff of rest) copies.push({ from: g.r0, cells: cellsOff });
    }
    if (copies.length === 0) return;
    const next = new Float32Array(X.length + copies.length * rowFloats);
    next.set(X);
    for (const { from, cells: members } of copies) {
      const r0 = rows();
      next.copyWithin(r0 * n * D, from * n * D, from * n * D + rowFloats);
      groups.push({ cells: members, r0 });
    }
    X = next;
  };

  for (let l = 0; l < L; l++) {
    if (runs.signal?.aborted) throw new LocusError('cancelled', 'trace cancelled');
    join(l);
    if (groups.length === 0) continue;
    split(l);
    const ivs: Intervention[] = [];
    for (const g of groups) {
      const kind = restoreAt(g.cells[0], l);
      if (kind === 'none') continue;
      const rowsOf = Array.from({ length: S }, (_, r) => g.r0 + r);
      ivs.push({ kind: 'replace', site: siteOf(kind, l), rows: rowsOf, positions: [0], values: { shape: [1, 1, D], data: cellValue(runs.clean(siteOf(kind, l)), 0, t) } });
    }
    const kv = runs.kv(l);
    const past = { k: pastSlice(kv.k, t, 1), v: pastSlice(kv.v, t, 1) };
    X = (await suffixBlock(ctx, l, { shape: [rows(), n, D], data: X }, shared, past, ivs)).data; // [R, n, D]
  }
  join(L); // hidden restores of the last block's output go straight to the head

  // p(answer) per row: first token, or the product over the answer's tokens at their positions.
  const perRow = runs.scored.length;
  const picked = await suffixPick(ctx, { shape: [rows(), n, D], data: X }, runs.scored.map((p) => p - t), runs.answerIds.slice(0, perRow)); // [R, perRow, perRow]
  const scores = new Map<Cell, number>();
  for (const g of groups) {
    let total = 0;
    for (let r = g.r0; r < g.r0 + S; r++) {
      let lp = 0;
      for (let k = 0; k < perRow; k++) lp += picked.data[(r * perRow + k) * perRow + k];
      total += Math.exp(lp);
    }
    for (const c of g.cells) scores.set(c, total / S);
  }
  return scores;
}
