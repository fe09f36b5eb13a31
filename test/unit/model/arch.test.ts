import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isLocusError } from '../../../src/engine/errors';
import { adapterFor } from '../../../src/engine/model/arch/index';
import { readConfig } from '../../../src/engine/model/config';
import type { ModelConfig } from '../../../src/engine/model/config';
import type { ParamName } from '../../../src/engine/model/names';
import { openSafetensorsFile, writeSafetensors } from '../../../src/engine/model/safetensors';
import type { WeightStore } from '../../../src/engine/model/safetensors';
import { loadWeights } from '../../../src/engine/model/weights';
import type { LoadedWeights } from '../../../src/engine/model/weights';
import { numel, tensor } from '../../../src/engine/tensor/tensor';
import type { Tensor } from '../../../src/engine/tensor/tensor';
import { golden, tempDir } from '../../helpers/paths';

const GPT2 = golden('gpt2-tiny-trained');
const GPTJ = golden('gptj-tiny-random');
const root = tempDir('locus-arch-');
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Element [i, j] of a 2-D tensor. */
const at = (t: Tensor, i: number, j: number): number => t.data[i * t.shape[1] + j];

/** The canonical shape every adapter must produce (types.ts header), written out independently. */
function canonicalShape(cfg: ModelConfig, name: string): number[] {
  const { d_model: D, d_mlp: M, d_vocab: V } = cfg;
  const table: Record<string, number[]> = {
    'embed.W_E': [V, D], 'pos_embed.W_pos': [cfg.n_ctx, D], 'ln_final.w': [D], 'ln_final.b': [D],
    'unembed.W_U': [D, V], 'unembed.b_U': [V], 'ln1.w': [D], 'ln1.b': [D], 'ln2.w': [D], 'ln2.b': [D],
    'attn.W_Q': [D, D], 'attn.W_K': [D, D], 'attn.W_V': [D, D], 'attn.W_O': [D, D],
    'attn.b_Q': [D], 'attn.b_K': [D], 'attn.b_V': [D], 'attn.b_O': [D],
    'mlp.W_in': [D, M], 'mlp.b_in': [M], 'mlp.W_out': [M, D], 'mlp.b_out': [D],
  };
  const shape = table[name.replace(/^blocks\.\d+\./, '')];
  assert.ok(shape, `unexpected parameter ${name}`);
  return shape;
}

/** Copies `src`'s config.json and tensors into a new folder, after `edit` changes the tensor list. */
function editedCopy(src: string, edit: (ts: Array<{ name: string; tensor: Tensor }>) => Array<{ name: string; tensor: Tensor }>): string {
  const dir = fs.mkdtempSync(path.join(root, 'copy-'));
  fs.copyFileSync(path.join(src, 'config.json'), path.join(dir, 'config.json'));
  const store = openSafetensorsFile(path.join(src, 'model.safetensors'));
  const ts = store.names().map((name) => ({ name, tensor: store.read(name) }));
  store.close();
  writeSafetensors(path.join(dir, 'model.safetensors'), edit(ts));
  return dir;
}

function assertLocus(fn: () => unknown, code: string, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isLocusError(e), String(e));
    assert.equal(e.code, code, e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `message lacks ${JSON.stringify(p)}: ${e.message}`);
    return true;
  });
}

describe('gpt2 adapter on gpt2-tiny-trained', () => {
  let cfg: ModelConfig;
  let w: LoadedWeights;
  let raw: WeightStore;
  before(() => {
    cfg = readConfig(GPT2);
    w = loadWeights(GPT2, cfg);
    raw = openSafetensorsFile(path.join(GPT2, 'model.safetensors'));
  });
  after(() => {
    w.store.close();
    raw.close();
  });

  it('lists every canonical parameter with its canonical shape, tied unembedding, no warnings', () => {
    const names = w.params.names();
    assert.equal(names.length, 2 + 16 * 4 + 2);
    assert.ok(w.params.tiedUnembed);
    assert.ok(!w.params.has('unembed.W_U') && !w.params.has('unembed.b_U'));
    assert.deepEqual(w.warnings, []);
    for (const name of names) {
      const t = w.params.get(name);
      assert.deepEqual(t.shape, canonicalShape(cfg, name), name);
      assert.equal(t.data.length, numel(t.shape), name);
      assert.deepEqual(adapterFor('gpt2').expectedShape(cfg, name), t.shape);
    }
    assert.deepEqual(w.params.shape('embed.W_E'), [50257, 64]);
    assert.deepEqual(w.params.shape('pos_embed.W_pos'), [1024, 64]);
    // HF's parameter count for a tied GPT-2: wte + wpe + 4 × 49,856 per block + ln_f.
    assert.equal(w.parameterCount, 50257 * 64 + 1024 * 64 + 4 * (4 * 64 + 64 * 192 + 192 + 64 * 64 + 64 + 64 * 256 + 256 + 256 * 64 + 64) + 128);
  });

  it('splits c_attn by columns into Q | K | V and copies Conv1D weights untransposed', () => {
    const D = cfg.d_model;
    const cAttn = raw.read('transformer.h.2.attn.c_attn.weight'); // [D, 3D]
    const bias = raw.read('transformer.h.2.attn.c_attn.bias');
    (['Q', 'K', 'V'] as const).forEach((k, part) => {
      const W = w.params.get(`blocks.2.attn.W_${k}`);
      for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) assert.equal(at(W, i, j), at(cAttn, i, part * D + j));
      assert.deepEqual(w.params.get(`blocks.2.attn.b_${k}`).data, bias.data.slice(part * D, (part + 1) * D));
    });
    assert.deepEqual(w.params.get('blocks.3.mlp.W_in'), raw.read('transformer.h.3.mlp.c_fc.weight'));
    assert.deepEqual(w.params.get('blocks.0.attn.W_O'), raw.read('transformer.h.0.attn.c_proj.weight'));
    assert.deepEqual(w.params.get('ln_final.w'), raw.read('transformer.ln_f.weight'));
    assert.notEqual(at(w.params.get('blocks.2.attn.W_Q'), 5, 7), 0);
  });

  it('materializes once and caches; drop forgets', () => {
    const a = w.params.get('blocks.1.mlp.W_out');
    assert.equal(w.params.get('blocks.1.mlp.W_out'), a);
    w.params.drop('blocks.1.mlp.W_out');
    const b = w.params.get('blocks.1.mlp.W_out');
    assert.notEqual(b, a);
    assert.deepEqual(b, a);
  });
});

describe('gptj adapter on gptj-tiny-random', () => {
  let cfg: ModelConfig;
  let w: LoadedWeights;
  let raw: WeightStore;
  before(() => {
    cfg = readConfig(GPTJ);
    w = loadWeights(GPTJ, cfg);
    raw = openSafetensorsFile(path.join(GPTJ, 'model.safetensors'));
  });
  after(() => {
    w.store.close();
    raw.close();
  });

  it('lists every canonical parameter: no pos_embed, no ln2, no attention biases, untied W_U + b_U', () => {
    const names = w.params.names();
    assert.equal(names.length, 1 + 10 * 3 + 2 + 2);
    assert.ok(!w.params.tiedUnembed);
    for (const absent of ['pos_embed.W_pos', 'blocks.0.ln2.w', 'blocks.0.attn.b_Q', 'blocks.0.attn.b_O']) assert.ok(!w.params.has(absent), absent);
    for (const name of names) assert.deepEqual(w.params.get(name).shape, canonicalShape(cfg, name), name);
    assert.deepEqual(w.params.shape('unembed.W_U'), [64, 50257]);
    assert.deepEqual(w.warnings, []);
  });

  it('transposes every nn.Linear weight from [out, in] to [in, out]', () => {
    const pairs: Array<[ParamName, string]> = [
      ['blocks.1.attn.W_Q', 'transformer.h.1.attn.q_proj.weight'],
      ['blocks.1.attn.W_O', 'transformer.h.1.attn.out_proj.weight'],
      ['blocks.2.mlp.W_in', 'transformer.h.2.mlp.fc_in.weight'],
      ['blocks.2.mlp.W_out', 'transformer.h.2.mlp.fc_out.weight'],
      ['unembed.W_U', 'lm_head.weight'],
    ];
    for (const [name, hf] of pairs) {
      const W = w.params.get(name);
      const H = raw.read(hf);
      assert.deepEqual(W.shape, [H.shape[1], H.shape[0]], name);
      for (const [i, j] of [[0, 0], [3, 17], [H.shape[1] - 1, H.shape[0] - 1], [11, 40]]) assert.equal(at(W, i, j), at(H, j, i), `${name}[${i}, ${j}]`);
    }
    const Q = w.params.get('blocks.1.attn.W_Q');
    const q = raw.read('transformer.h.1.attn.q_proj.weight');
    for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) assert.equal(at(Q, i, j), at(q, j, i));
    assert.deepEqual(w.params.get('unembed.b_U'), raw.read('lm_head.bias'));
  });
});

describe('validation against config.json', () => {
  const cfg = (): ModelConfig => readConfig(GPT2);

  it('names a missing tensor and the parameter it feeds', () => {
    const dir = editedCopy(GPT2, (ts) => ts.filter((t) => t.name !== 'transformer.h.3.mlp.c_fc.weight'));
    assertLocus(() => loadWeights(dir, cfg()), 'missing-tensor', 'model.safetensors lacks transformer.h.3.mlp.c_fc.weight (needed for blocks.3.mlp.W_in)');
  });

  it('lists the first 5 of many missing tensors and the count', () => {
    const dir = editedCopy(GPT2, (ts) => ts.filter((t) => !t.name.startsWith('transformer.h.1.')));
    assertLocus(() => loadWeights(dir, cfg()), 'missing-tensor', 'transformer.h.1.ln_1.weight', 'and 7 more (12 missing)');
  });

  it('names a tensor whose shape disagrees with the config', () => {
    const dir = editedCopy(GPT2, (ts) =>
      ts.map((t) => (t.name === 'transformer.h.0.attn.c_attn.weight' ? { name: t.name, tensor: tensor([64, 190]) } : t)));
    assertLocus(() => loadWeights(dir, cfg()), 'shape-mismatch', 'transformer.h.0.attn.c_attn.weight has shape [64, 190], expected [64, 192] from config.json');
  });

  it('accepts unprefixed names, skips mask buffers and a tied lm_head, and warns about extras', () => {
    const dir = editedCopy(GPT2, (ts) => {
      const wte = ts.find((t) => t.name === 'transformer.wte.weight') as { tensor: Tensor };
      return [
        ...ts.map((t) => ({ name: t.name.replace(/^transformer\./, ''), tensor: t.tensor })),
        { name: 'h.0.attn.bias', tensor: tensor([1, 1, 4, 4]) },
        { name: 'h.0.attn.masked_bias', tensor: tensor([]) },
        { name: 'lm_head.weight', tensor: wte.tensor },
        { name: 'value_head.weight', tensor: tensor([1, 64]) },
      ];
    });
    const w = loadWeights(dir, cfg());
    try {
      assert.deepEqual(w.warnings, ['model.safetensors: ignoring unexpected tensor value_head.weight [1, 64]']);
      const gold = openSafetensorsFile(path.join(GPT2, 'model.safetensors'));
      assert.deepEqual(w.params.get('blocks.1.attn.W_O'), gold.read('transformer.h.1.attn.c_proj.weight'));
      assert.deepEqual(w.params.get('embed.W_E'), gold.read('transformer.wte.weight'));
      gold.close();
    } finally {
      w.store.close();
    }
  });

  it('refuses an unknown model_type', () => {
    assertLocus(() => adapterFor('mamba'), 'unsupported-architecture', 'mamba');
    assertLocus(() => adapterFor('toString'), 'unsupported-architecture', 'toString');
  });
});
