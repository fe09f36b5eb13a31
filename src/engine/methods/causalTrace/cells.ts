import type { TraceKind } from './types';

/** One grid cell: restore `kind` at token `t` for layer `layer` (its window for mlp/attn). */
export interface Cell {
  readonly kind: TraceKind;
  readonly t: number;
  readonly layer: number;
  /** Layers whose state is restored: [layer] for hidden, the window for mlp/attn. */
  readonly restored: readonly number[];
  /** The first block whose output changes: runs start there (hidden: layer + 1; windows: the first restored layer). */
  readonly start: number;
}

/**
 * The layers a window covers at layer l (ROME's trace_important_window):
 * max(0, l − ⌊w/2⌋) … min(L, l − ⌊−w/2⌋) − 1, i.e. l−5 … l+4 for w = 10 and l−2 … l+2 for w = 5.
 */
export function windowLayers(l: number, w: number, nLayers: number): number[] {
  const out: number[] = [];
  for (let k = Math.max(0, l - Math.floor(w / 2)); k < Math.min(nLayers, l - Math.floor(-w / 2)); k++) out.push(k);
  return out;
}

/** Every cell to run: tokens from the first subject token to the last prompt token (earlier tokens cannot change under causal attention). */
export function traceCells(kinds: readonly TraceKind[], firstToken: number, promptLength: number, nLayers: number, window: number): Cell[] {
  const cells: Cell[] = [];
  for (const kind of kinds) {
    for (let t = firstToken; t < promptLength; t++) {
      for (let l = 0; l < nLayers; l++) {
        const restored = kind === 'hidden' ? [l] : windowLayers(l, window, nLayers);
        cells.push({ kind, t, layer: l, restored, start: kind === 'hidden' ? l + 1 : restored[0] });
      }
    }
  }
  return cells;
}
