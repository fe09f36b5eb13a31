import { describe, test } from 'node:test';
import { causalMask, rotaryTables, rotateEveryTwoMatrix } from '../../../src/engine/graph/attention';
import { emitBlock, INPUT } from '../../../src/engine/graph/segments';
import type { BlockInputs } from '../../../src/engine/graph/segments';
import { parseConfig } from '../../../src/engine/model/config';
import type { ModelConfig } from '../../../src/engine/model/config';
import type { ParamName } from '../../../src/engine/model/names';
import { checkGradients, values } from '../../helpers/gradCheck';

/**
 * Whole transformer blocks (the exact emitBlock the engine runs) differentiated with respect to
 * their input and every weight, against float64 central differences. Tiny shapes keep it fast.
 */
function blockParams(cfg: ModelConfig): Record<string, { shape: number[]; data: Float32Array }> {
  const { d_model: D, d_mlp: M } = cfg;
  const shapes: Record<string, number[]> = {};
  const gpt2 = cfg.modelType === 'gpt2';
  for (const w of ['W_Q', 'W_K', 'W_V', 'W_O']) shapes[`blocks.0.attn.${w}`] = [D, D];
  if (gpt2) for (const b of ['b_Q', 'b_K', 'b_V', 'b_O']) shapes[`blocks.0.attn.${b}`] = [D];
  shapes['blocks.0.ln1.w'] = [D];
  shapes['blocks.0.ln1.b'] = [D];
  if (gpt2) {
    shapes['blocks.0.ln2.w'] = [D];
    shapes['blocks.0.ln2.b'] = [D];
  }
  Object.assign(shapes, { 'blocks.0.mlp.W_in': [D, M], 'blocks.0.mlp.b_in': [M], 'blocks.0.mlp.W_out': [M, D], 'blocks.0.mlp.b_out': [D] });
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  Object.entries(shapes).forEach(([name, shape], k) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const isGain = name.endsWith('.w');
    out[name] = { shape, data: isGain ? values(n, 100 + k, 0.7, 1.3) : values(n, 100 + k, -0.5, 0.5) };
  });
  return out;
}

for (const [arch, raw] of [
  ['GPT-2', { model_type: 'gpt2', n_embd: 8, n_head: 2, n_layer: 1, n_positions: 16, vocab_size: 10 }],
  ['GPT-J', { model_type: 'gptj', n_embd: 8, n_head: 2, n_layer: 1, n_positions: 16, vocab_size: 10, rotary_dim: 2 }],
] as const) {
  describe(`${arch} block gradients`, () => {
    const cfg = parseConfig(raw);
    const params = blockParams(cfg);
    const pos = 5;
    const constants: Record<string, { shape: number[]; data: Float32Array }> = { [INPUT.mask]: { shape: [pos, pos], data: causalMask(pos) } };
    if (cfg.modelType === 'gptj') {
      const { cos, sin } = rotaryTables(pos, cfg.d_head, cfg.rotaryDim);
      constants[INPUT.cos] = { shape: [pos, 1, cfg.d_head], data: cos };
      constants[INPUT.sin] = { shape: [pos, 1, cfg.d_head], data: sin };
    }
    test('d resid_post / d (resid_pre, every weight) vs finite differences', () =>
      checkGradients({
        wrt: { x: { shape: [2, pos, cfg.d_model], data: values(2 * pos * cfg.d_model, 7, -1, 1) } },
        params,
        constants: constants as never,
        sample: 24,
        build: (g, i) => {
          // The constants above are the graph inputs blockInputs() would declare.
          const inputs: BlockInputs =
            cfg.modelType === 'gpt2'
              ? { mask: i[INPUT.mask] }
              : { mask: i[INPUT.mask], rotary: { cos: i[INPUT.cos], sin: i[INPUT.sin], rotate: g.float(rotateEveryTwoMatrix(cfg.d_head, cfg.rotaryDim), [cfg.d_head, cfg.d_head]) } };
          return emitBlock(g, cfg, 0, (n: ParamName) => params[n], { full: false }, i.x, inputs);
        },
      }));
  });
}
