import { appendGradients, gradName } from '../autodiff/backward';
import { GraphBuilder } from '../graph/builder';
import type { GraphSpec } from '../graph/proto';
import { blockInputs, emitBlock, hasLearnedPositions, INPUT } from '../graph/segments';
import type { ParamGetter } from '../graph/segments';
import type { ModelConfig } from '../model/config';
import type { ParamName } from '../model/names';
import { nllLoss } from '../ops/loss';
import { layerNorm } from '../ops/norm';

export const LM_INPUT = { targets: 'targets', weights: 'target_weights' } as const;

export interface LmTrainingGraph {
  readonly spec: GraphSpec;
  /** Trainable parameters, fed as graph inputs every step. */
  readonly params: readonly ParamName[];
  /** Output names: 'loss', then grad.<param> in `params` order. */
  readonly outputs: readonly string[];
}

/**
 * One graph for a whole GPT-2 language-model step: ids [batch, pos] → next-token NLL over every
 * position (targets and weights [batch·pos]) → the loss and d loss / d every parameter.
 * The same emitBlock builds the inference blocks, so training and inference compute the same function.
 */
export function buildLmTrainingGraph(cfg: ModelConfig, p: ParamGetter): LmTrainingGraph {
  // The graph below is GPT-2's: learned positions, LayerNorm, a tied head without bias.
  if (!hasLearnedPositions(cfg) || cfg.arch.norm !== 'layernorm' || cfg.arch.headBias || !cfg.tiedEmbeddings) throw new Error('LM training supports tied GPT-2 models');
  const g = new GraphBuilder('lm-train', () => true);
  const ids = g.input(INPUT.ids, ['batch', 'pos'], 'int64');
  const positions = g.input(INPUT.positions, ['batch', 'pos'], 'int64');
  const targets = g.input(LM_INPUT.targets, ['rows'], 'int64');
  const weights = g.input(LM_INPUT.weights, ['rows']);
  const WE = g.weight('embed.W_E', p('embed.W_E'));
  let x = g.node('Add', [g.node('Gather', [WE, ids], { axis: 0 }), g.node('Gather', [g.weight('pos_embed.W_pos', p('pos_embed.W_pos')), positions], { axis: 0 })]); // [batch, pos, d_model]
  const inputs = blockInputs(g, cfg);
  for (let l = 0; l < cfg.n_layers; l++) x = emitBlock(g, cfg, l, p, { full: false }, x, inputs);
  const ln = layerNorm(g, x, g.weight('ln_final.w', p('ln_final.w')), g.weight('ln_final.b', p('ln_final.b')), cfg.layerNormEps);
  const rows = g.node('Reshape', [ln, g.int64([-1, cfg.d_model])]); // [batch·pos, d_model]
  const logits = g.node('Gemm', [rows, WE], { transB: 1 }); // [batch·pos, d_vocab]
  const loss = nllLoss(g, logits, targets, weights);
  g.output(loss, []);
  const params = [...g.weightFeeds.keys()] as ParamName[];
  appendGradients(g, loss, params);
  for (const name of params) g.output(gradName(name), p(name).shape);
  return { spec: g.build(), params, outputs: [loss, ...params.map(gradName)] };
}
