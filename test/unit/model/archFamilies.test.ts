import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { isLocusError } from '../../../src/engine/errors';
import { inverseFrequencies, rotaryTablesAt, rotateHalfMatrix } from '../../../src/engine/graph/attention';
import { blockFeeds } from '../../../src/engine/graph/feeds';
import { INPUT } from '../../../src/engine/graph/segments';
import { hfTensors } from '../../../src/engine/model/arch/exportHf';
import { adapterFor } from '../../../src/engine/model/arch/index';
import { parseConfig, readConfig } from '../../../src/engine/model/config';
import type { ParamName } from '../../../src/engine/model/names';
import { openSafetensors, writeSafetensors } from '../../../src/engine/model/safetensors';
import { loadWeights } from '../../../src/engine/model/weights';
import { golden, tempDir } from '../../helpers/paths';

/**
 * The Llama-family and GPT-NeoX adapters: config class defaults, the feature each key selects, rotary
 * frequencies and layout, the sliding-window refusal, NeoX's per-head fused QKV and the export inverse.
 * Expected values are written from the HF sources (transformers 4.51 configuration_*.py,
 * modeling_rope_utils.py, modeling_gpt_neox.py), not from our code.
 */
function assertLocus(fn: () => unknown, code: string, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isLocusError(e), String(e));
    assert.equal(e.code, code, e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `message lacks ${JSON.stringify(p)}: ${e.message}`);
    return true;
  });
}

const BASE = { hidden_size: 64, num_hidden_layers: 2, vocab_size: 100, intermediate_size: 128 };

describe('config class defaults for absent keys', () => {
  it('head_dim: hidden/heads for llama, mistral, qwen2; 128 for qwen3; 256 for gemma', () => {
    for (const t of ['llama', 'mistral', 'qwen2']) assert.equal(parseConfig({ ...BASE, model_type: t, num_attention_heads: 32 }).d_head, 2, t);
    assert.equal(parseConfig({ ...BASE, model_type: 'qwen3', num_attention_heads: 32 }).d_head, 128);
    assert.equal(parseConfig({ ...BASE, model_type: 'gemma', num_attention_heads: 32 }).d_head, 256);
  });
  it('num_key_value_heads: heads for llama; 8 mistral, 32 qwen2/qwen3, 16 gemma', () => {
    const kv = (t: string): number => parseConfig({ ...BASE, model_type: t, num_attention_heads: 32 }).n_kv_heads;
    assert.deepEqual(['llama', 'mistral', 'qwen2', 'qwen3', 'gemma'].map(kv), [32, 8, 32, 32, 16]);
  });
  it('tie_word_embeddings: false except gemma; rope_theta 10000', () => {
    const cfg = (t: string) => parseConfig({ ...BASE, model_type: t, num_attention_heads: 32 });
    assert.deepEqual(['llama', 'mistral', 'qwen2', 'qwen3', 'gemma', 'gpt_neox'].map((t) => cfg(t).tiedEmbeddings), [false, false, false, false, true, false]);
    assert.equal(cfg('llama').arch.rotary?.theta, 10000);
    assert.equal(cfg('gpt_neox').arch.rotary?.theta, 10000);
  });
  it('GPT-NeoX: rotary_pct 0.25 of the head, parallel residual, erf GELU, eps 1e-5', () => {
    const c = parseConfig({ ...BASE, model_type: 'gpt_neox', num_attention_heads: 4 });
    assert.equal(c.d_head, 16);
    assert.equal(c.arch.rotary?.dims, 4);
    assert.equal(c.arch.rotary?.layout, 'half');
    assert.equal(c.arch.residual, 'parallel');
    assert.equal(c.arch.mlp, 'gelu_erf');
    assert.equal(c.layerNormEps, 1e-5);
    assert.equal(parseConfig({ ...BASE, model_type: 'gpt_neox', num_attention_heads: 4, use_parallel_residual: false }).arch.residual, 'sequential');
  });
});

describe('features chosen by config keys', () => {
  const f = (raw: Record<string, unknown>) => parseConfig({ ...BASE, num_attention_heads: 4, num_key_value_heads: 4, ...raw }).arch;
  it('biases: llama attention_bias covers q, k, v and o; qwen2 q/k/v always, never o; mistral none; mlp_bias llama only', () => {
    assert.deepEqual([f({ model_type: 'llama', attention_bias: true }).qkvBias, f({ model_type: 'llama', attention_bias: true }).oBias], [true, true]);
    assert.deepEqual([f({ model_type: 'llama' }).qkvBias, f({ model_type: 'llama' }).oBias], [false, false]);
    assert.deepEqual([f({ model_type: 'qwen2' }).qkvBias, f({ model_type: 'qwen2', attention_bias: true }).oBias], [true, false]);
    assert.deepEqual([f({ model_type: 'mistral', attention_bias: true }).qkvBias, f({ model_type: 'mistral' }).oBias], [false, false]);
    assert.equal(f({ model_type: 'llama', mlp_bias: true }).mlpBias, true);
    assert.equal(f({ model_type: 'qwen2', mlp_bias: true }).mlpBias, false);
  });
  it('qwen3 q/k norms; gemma RMSNorm (1 + w), GeGLU and √d rounded to float32', () => {
    assert.equal(f({ model_type: 'qwen3' }).qkNorm, true);
    assert.equal(f({ model_type: 'qwen2' }).qkNorm, false);
    const g = f({ model_type: 'gemma', hidden_size: 32, hidden_act: 'gelu' });
    assert.equal(g.norm, 'rmsnorm_plus1');
    assert.equal(g.mlp, 'gated_gelu_tanh');
    assert.equal(g.embedScale, Math.fround(5.656854249492381));
    assert.notEqual(g.embedScale, 5.65625); // bf16's rounding, which a float32 model does not use
    assert.equal(f({ model_type: 'llama' }).mlp, 'gated_silu');
  });
  it('refuses what it cannot compute exactly, in one line', () => {
    assertLocus(() => parseConfig({ ...BASE, model_type: 'llama', num_attention_heads: 4, rope_scaling: { rope_type: 'yarn', factor: 4 } }), 'unsupported-architecture', 'rope_scaling', 'yarn');
    assertLocus(() => parseConfig({ ...BASE, model_type: 'llama', num_attention_heads: 4, hidden_act: 'relu' }), 'bad-config', 'hidden_act');
    assertLocus(() => parseConfig({ ...BASE, model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 3 }), 'bad-config', 'num_key_value_heads');
    assertLocus(() => parseConfig({ ...BASE, model_type: 'gpt_neox', num_attention_heads: 4, rotary_pct: 0.1 }), 'bad-config', 'rotary');
  });
});

describe('rotary embeddings', () => {
  it('llama3 rope scaling on llama-tiny-random: wavelengths 6.3 and 167 kept, 4443 blended, 118 500 divided by 32', () => {
    const cfg = readConfig(golden('llama-tiny-random'));
    const inv = inverseFrequencies(cfg.arch.rotary!);
    // HF _compute_llama3_parameters, in float64 here (float32 rounding is within 1e-7 relative).
    const base = [0, 1, 2, 3].map((i) => 1 / Math.pow(500000, (2 * i) / 8));
    const wl = base.map((f) => (2 * Math.PI) / f);
    assert.ok(wl[0] < 2048 && wl[1] < 2048 && wl[2] > 2048 && wl[2] < 8192 && wl[3] > 8192, wl.join(', '));
    const smooth = (8192 / wl[2] - 1) / (4 - 1);
    const want = [base[0], base[1], ((1 - smooth) * base[2]) / 32 + smooth * base[2], base[3] / 32];
    want.forEach((w, i) => assert.ok(Math.abs(inv[i] - w) <= 1e-7 * w, `inv_freq[${i}] ${inv[i]} vs ${w}`));
  });
  it('rotate-half pairs dim i with i + r/2 on the rotary dims only (HF rotate_half), the rest untouched', () => {
    const d = 8;
    const r = 4;
    const R = rotateHalfMatrix(d, r);
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const xR = Array.from({ length: d }, (_, j) => x.reduce((s, xi, i) => s + xi * R[i * d + j], 0));
    assert.deepEqual(xR, [-3, -4, 1, 2, 0, 0, 0, 0]); // cat(-x[2:4], x[0:2]), then zeros past r
    const { cos, sin } = rotaryTablesAt({ layout: 'half', dims: r, theta: 10000 }, d, 3, 1);
    const inv1 = Math.fround(1 / Math.pow(10000, 2 / 4));
    assert.deepEqual(Array.from(cos), [Math.cos(3), Math.cos(Math.fround(3 * inv1)), Math.cos(3), Math.cos(Math.fround(3 * inv1)), 1, 1, 1, 1].map(Math.fround));
    assert.equal(sin[4], 0);
  });
  it('tables from position t0 are the rows t0 … of the tables from 0 (suffix runs see the same angles)', () => {
    const rot = { layout: 'half' as const, dims: 8, theta: 500000 };
    const all = rotaryTablesAt(rot, 8, 0, 12);
    const tail = rotaryTablesAt(rot, 8, 7, 5);
    assert.deepEqual(tail.cos, all.cos.subarray(7 * 8));
    assert.deepEqual(tail.sin, all.sin.subarray(7 * 8));
  });
});

describe('sliding window (mistral)', () => {
  const cfg = parseConfig({ ...BASE, model_type: 'mistral', num_attention_heads: 4, num_key_value_heads: 1, sliding_window: 6 });
  it('prompts up to the window are computed; longer ones are refused with one line, also in suffix runs', () => {
    const feeds = blockFeeds(cfg, 0, 6);
    assert.deepEqual(feeds[INPUT.mask].shape, [6, 6]);
    assertLocus(() => blockFeeds(cfg, 0, 7), 'bad-input', '7 tokens', 'sliding window of 6');
    assertLocus(() => blockFeeds(cfg, 4, 3), 'bad-input', 'sliding window');
  });
  it('qwen2 ignores sliding_window unless use_sliding_window is true', () => {
    assert.equal(parseConfig({ ...BASE, model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 4, sliding_window: 6 }).arch.slidingWindow, undefined);
    assert.equal(parseConfig({ ...BASE, model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 4, sliding_window: 6, use_sliding_window: true }).arch.slidingWindow, 6);
  });
});

describe('weights of the golden folders', () => {
  it("GPT-NeoX's fused query_key_value is split per head [q | k | v], and buffers are skipped", () => {
    const dir = golden('neox-tiny-random');
    const cfg = readConfig(dir);
    const store = openSafetensors(dir);
    try {
      const params = adapterFor('gpt_neox').load(cfg, store);
      const fused = store.read('gpt_neox.layers.1.attention.query_key_value.weight'); // [3·D, D], rows (head, part, i)
      const D = cfg.d_model;
      const hs = cfg.d_head;
      (['W_Q', 'W_K', 'W_V'] as const).forEach((w, part) => {
        const W = params.get(`blocks.1.attn.${w}` as ParamName); // [D, D] = [in, out]
        for (let h = 0; h < cfg.n_heads; h++) {
          for (let i = 0; i < hs; i++) {
            const row = (h * 3 + part) * hs + i;
            for (let c = 0; c < D; c++) assert.equal(W.data[c * D + h * hs + i], fused.data[row * D + c], `${w} head ${h} dim ${i} col ${c}`);
          }
        }
      });
      const bufs = adapterFor('gpt_neox').buffers;
      for (const b of ['attention.bias', 'attention.masked_bias', 'attention.rotary_emb.inv_freq']) assert.ok(bufs.test(`gpt_neox.layers.3.${b}`), b);
      assert.equal(bufs.test('gpt_neox.layers.3.attention.dense.bias'), false);
    } finally {
      store.close();
    }
  });

  for (const name of ['neox-tiny-random', 'llama-tiny-random', 'mistral-tiny-random', 'qwen3-tiny-random']) {
    it(`${name}: exporting the canonical parameters gives back every stored tensor (upcast to float32), and no more`, () => {
      const dir = golden(name);
      const cfg = readConfig(dir);
      const store = openSafetensors(dir);
      try {
        const params = adapterFor(cfg.modelType).load(cfg, store);
        assert.deepEqual(params.warnings, []);
        const out = hfTensors(adapterFor(cfg.modelType), cfg, (n) => params.get(n));
        assert.deepEqual(out.map((t) => t.name).sort(), store.names().sort());
        for (const { name: n, tensor } of out) assert.deepEqual(tensor.data, store.read(n).data, n);
      } finally {
        store.close();
      }
    });
  }
});

describe('GPT-NeoX files saved by transformers ≤ 4.3x', () => {
  it('hold attention.bias, attention.masked_bias and rotary_emb.inv_freq buffers: loaded without a warning', () => {
    const src = golden('neox-tiny-random');
    const dir = tempDir('locus-neox-buffers-');
    try {
      fs.copyFileSync(path.join(src, 'config.json'), path.join(dir, 'config.json'));
      const store = openSafetensors(src);
      const ts = store.names().map((name) => ({ name, tensor: store.read(name) }));
      store.close();
      for (let l = 0; l < 2; l++) {
        const a = `gpt_neox.layers.${l}.attention`;
        ts.push(
          { name: `${a}.bias`, tensor: { shape: [1, 1, 4, 4], data: new Float32Array(16).fill(1) } },
          { name: `${a}.masked_bias`, tensor: { shape: [], data: Float32Array.from([-1e9]) } },
          { name: `${a}.rotary_emb.inv_freq`, tensor: { shape: [2], data: Float32Array.from([1, 0.01]) } },
        );
      }
      writeSafetensors(path.join(dir, 'model.safetensors'), ts);
      const w = loadWeights(dir, readConfig(dir));
      try {
        assert.deepEqual(w.warnings, []);
        assert.equal(w.params.has('blocks.0.attn.W_Q'), true);
      } finally {
        w.store.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
