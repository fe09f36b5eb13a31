import { LocusError } from '../../errors';
import { suffixBlock, suffixInputs, suffixPick } from '../../interp/suffix';
import { forwardContext } from '../../interp/probe';
import type { LoadedModel } from '../../model/model';
import type { SegmentKey } from '../../model/sessions';
import type { Tensor } from '../../tensor/tensor';
import { traceCells } from './cells';
import { sweepRows } from './sweep';
import { traceRunning } from './trace';

/** The sessions a trace grid runs: each block's hooked variant (clean, corrupted and restored runs), the last block's tail variant (sweep.ts) and the head. */
export function traceSessionKeys(nLayers: number): SegmentKey[] {
  const keys: SegmentKey[] = [];
  for (let l = 0; l < nLayers; l++) keys.push(`block.${l}.hooked`);
  keys.push(`block.${nLayers - 1}.tail`, 'unembed');
  return keys;
}

/** The warm-up batch: a default grid's (3 kinds, W = 10, 10 samples, maxRows 480) first sweep, over this many positions. */
const WARM_POSITIONS = 12;
const WARM_SAMPLES = 10;
const WARM_MAX_ROWS = 480;
/** No warm-up when the arenas it grows would hold more than this (GPT-2 small: about 1.3 GB; larger models grow theirs on the first grid). */
const WARM_MEMORY_LIMIT = 3 * 2 ** 30;

/**
 * The rows each block and the head run in a default grid's first sweep (sweep.ts: window cells share
 * rows, so early blocks run few), its positions, and the bytes the arenas hold (an estimate).
 */
export function traceWarmUpShape(cfg: LoadedModel['config']): { rows: number[]; positions: number; bytes: number } {
  const maxCells = Math.floor(WARM_MAX_ROWS / WARM_SAMPLES);
  const cells = traceCells(['hidden', 'mlp', 'attn'], 0, 1, cfg.n_layers, 10).sort((x, y) => x.start - y.start).slice(0, maxCells);
  const rows = sweepRows(cells, cfg.n_layers, WARM_SAMPLES);
  const positions = Math.min(WARM_POSITIONS, cfg.n_ctx);
  // Per block and token: the residual stream, its norms, attention and hook tensors (~6·d) and the MLP's hidden layer twice (2·d_mlp); float32.
  const blockRows = rows.slice(0, -1).reduce((a, r) => a + r, 0);
  const bytes = blockRows * positions * (6 * cfg.d_model + 2 * cfg.d_mlp) * 4;
  return { rows, positions, bytes };
}

const yieldToEventLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Gets a model ready for its first trace grid while a worker has nothing to do: creates the sessions a
 * trace uses, then runs each once on the batch shape of a default grid's largest sweep. A fresh ORT
 * session's first runs grow its memory arena, and every fresh page costs a fault (measured, 4-layer
 * GPT-2-small grid with its sessions created: 69 k page faults and 0.43 s of system time on the first
 * grid, 3 k on a warm one, first/warm CPU 1.34×; after this warm-up 13 k faults, 1.18×; bench/trace.ts
 * "prepared"). The warm-up computes (GPT-2 small: ~0.4 TFLOP, a few seconds of idle time). One session or run at a
 * time, yielding to the event loop between them: ORT's session creation and runs are synchronous
 * native calls, so a request that arrives meanwhile waits for one of them, never for all. The sessions
 * are the ones a trace creates on first use (model/sessions.ts caches them), and the warm-up's inputs
 * are zeros whose outputs are dropped, so results do not change.
 */
export async function prepareTraceSessions(model: LoadedModel, signal?: AbortSignal): Promise<void> {
  const keys = traceSessionKeys(model.config.n_layers);
  const check = async (): Promise<void> => {
    if (signal?.aborted) throw new LocusError('cancelled', 'cancelled');
    await yieldToEventLoop();
  };
  for (const key of keys) {
    await check();
    await model.sessions.get(key);
  }
  const cfg = model.config;
  const { rows, positions, bytes } = traceWarmUpShape(cfg);
  if (bytes > WARM_MEMORY_LIMIT) return;
  const ctx = forwardContext(model);
  const zeros = (r: number): Tensor => ({ shape: [r, positions, cfg.d_model], data: new Float32Array(r * positions * cfg.d_model) }); // [rows, pos, d_model]
  const emptyPast = { shape: [WARM_SAMPLES, cfg.n_kv_heads, 0, cfg.d_head], data: new Float32Array(0) }; // [samples, kv_heads, 0, d_head]
  const shared = suffixInputs(cfg, 0, positions);
  for (let l = 0; l < cfg.n_layers; l++) {
    await check();
    // A grid that started meanwhile grows the arenas itself: the warm-up would only compete with it.
    if (traceRunning(model)) return;
    await suffixBlock(ctx, l, zeros(rows[l]), shared, { k: emptyPast, v: emptyPast }, []);
  }
  await check();
  if (traceRunning(model)) return;
  await suffixBlock(ctx, cfg.n_layers - 1, zeros(rows[cfg.n_layers - 1]), shared, { k: emptyPast, v: emptyPast }, [], 1);
  await check();
  if (traceRunning(model)) return;
  await suffixPick(ctx, zeros(rows[cfg.n_layers]), [positions - 1], [0]);
}
