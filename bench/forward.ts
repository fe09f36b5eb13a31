import { GraphBuilder } from '../src/engine/graph/builder';
import { encodeModel } from '../src/engine/graph/proto';
import { blockInputs, emitBlock, INPUT } from '../src/engine/graph/segments';
import { causalMask } from '../src/engine/graph/attention';
import { forward } from '../src/engine/interp/forward';
import { act } from '../src/engine/model/names';
import { SessionCache } from '../src/engine/model/sessions';
import { layerNorm } from '../src/engine/ops/norm';
import { RuntimeSession } from '../src/engine/runtime/ort';
import type { ModelConfig } from '../src/engine/model/config';
import type { ParamName } from '../src/engine/model/names';
import type { Tensor } from '../src/engine/tensor/tensor';
import { randomModel } from './randomModel';
import { median, report, timePair } from './timing';

/** The whole GPT-2 network as one ORT graph (logits at the last position), the baseline for segment-by-segment. */
function fusedGraph(cfg: ModelConfig, p: (n: ParamName) => Tensor) {
  const g = new GraphBuilder('fused');
  const ids = g.input(INPUT.ids, ['batch', 'pos'], 'int64');
  const positions = g.input(INPUT.positions, ['batch', 'pos'], 'int64');
  const tok = g.node('Gather', [g.weight('embed.W_E', p('embed.W_E')), ids], { axis: 0 });
  const pos = g.node('Gather', [g.weight('pos_embed.W_pos', p('pos_embed.W_pos')), positions], { axis: 0 });
  let x = g.node('Add', [tok, pos]);
  const inputs = blockInputs(g, cfg);
  for (let l = 0; l < cfg.n_layers; l++) x = emitBlock(g, cfg, l, p, { full: false }, x, inputs);
  const last = g.node('Gather', [x, g.node('Sub', [g.node('Gather', [g.node('Shape', [x]), g.int64([1], [])]), g.int64([1], [])])], { axis: 1 }); // [batch, d_model]
  const ln = layerNorm(g, last, g.weight('ln_final.w', p('ln_final.w')), g.weight('ln_final.b', p('ln_final.b')), cfg.layerNormEps);
  g.node('Gemm', [ln, 'embed.W_E'], { transB: 1 }, act.logits);
  g.output(act.logits, ['batch', cfg.d_vocab]);
  return g.build();
}

/** FLOPs of one forward with logits at the last position only (multiply-add = 2). */
function forwardFlops(cfg: ModelConfig, batch: number, pos: number): number {
  const D = cfg.d_model;
  const perTokenLayer = 2 * (4 * D * D + 2 * D * cfg.d_mlp) + 2 * 2 * pos * D;
  return batch * pos * cfg.n_layers * perTokenLayer + batch * 2 * D * cfg.d_vocab;
}

export async function benchForward(threads: number): Promise<void> {
  // Spinning pools (LOCUS_SPIN=1) are shown to hurt badly with one pool per segment; the engine keeps them off.
  const spin = process.env.LOCUS_SPIN === '1';
  const { config, param } = randomModel();
  console.log(`# forward: GPT-2-small-shaped random model (${config.n_layers} layers, d_model ${config.d_model}), intra-op threads ${threads}`);
  const sessions = new SessionCache(config, param, { threads, spin });
  const fused = await RuntimeSession.create('fused', encodeModel(fusedGraph(config, param), 20), { threads, spin });
  const ctx = { config, sessions, padId: 50256 };
  for (const [batch, pos] of [[1, 10], [64, 10]]) {
    const rows = Array.from({ length: batch }, (_, b) => Array.from({ length: pos }, (_, t) => (b * 131 + t * 17) % 50000));
    const ids = BigInt64Array.from(rows.flat(), BigInt);
    const positions = BigInt64Array.from(rows.flatMap((r) => r.map((_, t) => t)), BigInt);
    const reps = batch === 1 ? 40 : 12;
    const mask = { shape: [pos, pos], data: causalMask(pos) };
    const [seg, one] = await timePair(
      reps,
      () => forward(ctx, rows),
      () => fused.run({ [INPUT.ids]: { shape: [batch, pos], ids }, [INPUT.positions]: { shape: [batch, pos], ids: positions }, [INPUT.mask]: mask }, [act.logits]),
    );
    const flops = forwardFlops(config, batch, pos);
    const tokens = batch * pos;
    report(`segment-by-segment ${batch}x${pos}`, median(seg), tokens, flops);
    report(`fused one graph    ${batch}x${pos}`, median(one), tokens, flops);
    console.log(`ratio segment/fused throughput ${batch}x${pos}: ${(median(one) / median(seg)).toFixed(3)}`);
  }
  await fused.release();
  await sessions.releaseAll();
}
