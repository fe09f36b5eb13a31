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
 * item 5, "prefix trie across window cells"). Groups are numbered in row order: group i is rows i·S … i·S+S−1.
 */
type RowGroup = Cell[];

/** What a cell restores at layer l inside the block: its kind's output there, or nothing. */
const restoreAt = (c: Cell, l: number): TraceKind | 'none' => (c.kind !== 'hidden' && c.restored.includes(l) ? c.kind : 'none');

/**
 * The row groups of one token's sweep, without data: which groups join at a block, and which split
 * off (a copy of an existing group's rows) before it. Shared by the sweep and the warm-up's batch shapes.
 */
export class SweepGroups {
  readonly groups: RowGroup[] = [];

  constructor(private readonly cells: readonly Cell[]) {}

  /**
   * The groups that join at block `layer` (L: the head). Hidden cells each replace position t with their
   * own clean state; window cells all start from the corrupted stream (their restores, inside the
   * block, split them).
   */
  join(layer: number): RowGroup[] {
    const joining = this.cells.filter((c) => c.start === layer);
    const windows = joining.filter((c) => c.kind !== 'hidden');
    const fresh: RowGroup[] = [...joining.filter((c) => c.kind === 'hidden').map((c) => [c]), ...(windows.length ? [windows] : [])];
    this.groups.push(...fresh);
    return fresh;
  }

  /** Splits every group whose cells restore different things at layer l; returns each new group's source group. */
  split(l: number): number[] {
    const sources: number[] = [];
    const count = this.groups.length;
    for (let i = 0; i < count; i++) {
      const parts = new Map<string, Cell[]>();
      for (const c of this.groups[i]) parts.set(restoreAt(c, l), [...(parts.get(restoreAt(c, l)) ?? []), c]);
      if (parts.size < 2) continue;
      const [keep, ...rest] = [...parts.values()];
      this.groups[i] = keep;
      for (const cellsOff of rest) {
        this.groups.push(cellsOff);
        sources.push(i);
      }
    }
    return sources;
  }
}

/** The rows each block (and, last, the head) runs in one token's sweep of `cells` with S samples. */
export function sweepRows(cells: readonly Cell[], nLayers: number, S: number): number[] {
  const plan = new SweepGroups(cells);
  const rows: number[] = [];
  for (let l = 0; l < nLayers; l++) {
    plan.join(l);
    plan.split(l);
    rows.push(plan.groups.length * S);
  }
  plan.join(nLayers);
  rows.push(plan.groups.length * S);
  return rows;
}

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
  // Only the scored positions reach the head: the last block computes its output for the tail of
  // positions from the first scored one on (its keys and values still cover every position).
  const tail = T - Math.min(...runs.scored);
  const shared = suffixInputs(cfg, t, n);
  // The rows hold positions p0 … T−1: t … T−1, then the tail's after the last block.
  let p0 = t;
  let X: Float32Array = new Float32Array(0); // [R, T − p0, D]
  const plan = new SweepGroups(cells);
  const rows = (): number => plan.groups.length * S;
  /** Floats of one group's S rows. */
  const groupFloats = (): number => S * (T - p0) * D;

  const join = (layer: number): void => {
    const r0 = rows();
    const fresh = plan.join(layer);
    if (fresh.length === 0) return;
    const base = runs.residIn(layer);
    const width = T - p0;
    const next = new Float32Array(X.length + fresh.length * groupFloats());
    next.set(X);
    fresh.forEach((members, i) => {
      const g0 = r0 + i * S;
      for (let r = 0; r < S; r++) next.set(base.data.subarray((r * T + p0) * D, (r * T + T) * D), (g0 + r) * width * D);
      const c = members[0];
      // A hidden restore at position t; after the last block a position before the tail reaches nothing.
      if (c.kind === 'hidden' && t >= p0) {
        const v = cellValue(runs.clean(siteOf('hidden', c.layer)), 0, t);
        for (let r = 0; r < S; r++) next.set(v, ((g0 + r) * width + t - p0) * D);
      }
    });
    X = next;
  };

  /** Groups whose cells restore different things at layer l split: the new groups get a copy of their source's rows. */
  const split = (l: number): void => {
    const r0 = rows();
    const sources = plan.split(l);
    if (sources.length === 0) return;
    const size = groupFloats();
    const next = new Float32Array(X.length + sources.length * size);
    next.set(X);
    sources.forEach((from, i) => next.copyWithin((r0 / S + i) * size, from * size, (from + 1) * size));
    X = next;
  };

  for (let l = 0; l < L; l++) {
    if (runs.signal?.aborted) throw new LocusError('cancelled', 'trace cancelled');
    join(l);
    if (plan.groups.length === 0) continue;
    split(l);
    const ivs: Intervention[] = [];
    for (const [i, g] of plan.groups.entries()) {
      const kind = restoreAt(g[0], l);
      if (kind === 'none') continue;
      const rowsOf = Array.from({ length: S }, (_, r) => i * S + r);
      ivs.push({ kind: 'replace', site: siteOf(kind, l), rows: rowsOf, positions: [0], values: { shape: [1, 1, D], data: cellValue(runs.clean(siteOf(kind, l)), 0, t) } });
    }
    const kv = runs.kv(l);
    const past = { k: pastSlice(kv.k, t, 1), v: pastSlice(kv.v, t, 1) };
    const last = l === L - 1 && tail < n;
    X = (await suffixBlock(ctx, l, { shape: [rows(), n, D], data: X }, shared, past, ivs, last ? tail : undefined)).data; // [R, n, D]; the last: [R, tail, D]
    if (last) p0 = T - tail;
  }
  join(L); // hidden restores of the last block's output go straight to the head

  // p(answer) per row: first token, or the product over the answer's tokens at their positions.
  const perRow = runs.scored.length;
  const picked = await suffixPick(ctx, { shape: [rows(), T - p0, D], data: X }, runs.scored.map((p) => p - p0), runs.answerIds.slice(0, perRow)); // [R, perRow, perRow]
  const scores = new Map<Cell, number>();
  for (const [i, g] of plan.groups.entries()) {
    let total = 0;
    for (let r = i * S; r < (i + 1) * S; r++) {
      let lp = 0;
      for (let k = 0; k < perRow; k++) lp += picked.data[(r * perRow + k) * perRow + k];
      total += Math.exp(lp);
    }
    for (const c of g) scores.set(c, total / S);
  }
  return scores;
}
