import type { TraceParams } from '../src/protocol/engine';
import { inMemoryWorker } from '../test/helpers/inMemoryWorker';

/**
 * `npm run bench -- worker-trace` (issue 17 item 2: "first grid of a worker ≤ 1.25× a warm grid"): a
 * worker (the real handlers over an in-memory JSON-RPC pair) loads `LOCUS_BENCH_MODEL` (default the
 * embedded model) and traces a fact's full grid (3 kinds, W = 10, N = 10): the first grid right after
 * the load, the first grid after a user's pause (the worker creates the trace sessions in the
 * background meanwhile), and a warm grid; each in a fresh worker but the warm one.
 */
const PAUSE_S = 5;
const params: TraceParams = { prompt: 'The Space Needle is located in the city of', subject: 'The Space Needle', kinds: ['hidden', 'mlp', 'attn'], window: 10, samples: 10 };

const sleep = (s: number): Promise<void> => new Promise((r) => setTimeout(r, s * 1000));

async function grid(pause: number, threads: number, warm: boolean): Promise<number> {
  const worker = inMemoryWorker();
  try {
    await worker.send('model/load', { model: process.env.LOCUS_BENCH_MODEL ?? 'default', threads });
    await sleep(pause);
    if (warm) await worker.send('trace/run', params);
    const t0 = process.hrtime.bigint();
    await worker.send('trace/run', params);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  } finally {
    await worker.dispose();
  }
}

export async function benchWorkerTrace(threads: number): Promise<void> {
  console.log(`# worker trace grid (${process.env.LOCUS_BENCH_MODEL ?? 'embedded model'}, 3 kinds, W=10, N=10), ${threads} thread(s)`);
  const warm = await grid(0, threads, true);
  const first = await grid(0, threads, false);
  const paused = await grid(PAUSE_S, threads, false);
  console.log(`warm grid ${warm.toFixed(2)} s; first grid right after the load ${first.toFixed(2)} s (${(first / warm).toFixed(2)}× warm); ` +
    `first grid ${PAUSE_S} s after the load ${paused.toFixed(2)} s (${(paused / warm).toFixed(2)}× warm; goal ≤ 1.25×)`);
}
