import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/engine/model/config';
import type { ModelConfig } from '../../../src/engine/model/config';
import { presetModel } from '../../../src/engine/model/arch/families';
import { ftPresetFor, memitPresetFor, romePresetFor } from '../../../src/engine/methods/edit/presets/choosePreset';
import { belowLastBlock } from '../../../src/engine/methods/edit/presets/smallModel';
import { FT_GPT2_XL, FT_GPT_J } from '../../../src/engine/methods/finetune/index';
import { MEMIT_GPT2_XL, MEMIT_GPT_J } from '../../../src/engine/methods/memit/hparams';
import { ROME_GPT2_XL, ROME_GPT_J } from '../../../src/engine/methods/rome/hparams';

/**
 * Shapes from each model's Hugging Face config.json (only the keys our config mapping reads). The
 * expected hparams are the numbers of the published files, typed in from them (not from our code):
 * zjunlp/EasyEdit hparams/{ROME,MEMIT}/{llama-7b,llama3-8b,llama3.2-1b,llama3.2-3b,mistral-7b,qwen2.5-7b}.yaml,
 * jianghoucheng/AlphaEdit hparams/MEMIT/Llama3-8B.json, kmeng01/memit hparams/{ROME,MEMIT}/EleutherAI_gpt-neox-20b.json.
 */
const llamaLike = (type: string, layers: number, hidden: number, heads: number, kv: number, inter: number, extra: Record<string, unknown> = {}): ModelConfig =>
  parseConfig({ model_type: type, num_hidden_layers: layers, hidden_size: hidden, num_attention_heads: heads, num_key_value_heads: kv, intermediate_size: inter, vocab_size: 32000, max_position_embeddings: 4096, rms_norm_eps: 1e-5, hidden_act: type === 'gemma' ? 'gelu_pytorch_tanh' : 'silu', ...extra });

const LLAMA2_7B = llamaLike('llama', 32, 4096, 32, 32, 11008);
const LLAMA3_8B = llamaLike('llama', 32, 4096, 32, 8, 14336, { rope_theta: 500000, vocab_size: 128256 });
const LLAMA32_1B = llamaLike('llama', 16, 2048, 32, 8, 8192, { head_dim: 64, tie_word_embeddings: true, vocab_size: 128256 });
const LLAMA32_3B = llamaLike('llama', 28, 3072, 24, 8, 8192, { head_dim: 128, tie_word_embeddings: true, vocab_size: 128256 });
const MISTRAL_7B = llamaLike('mistral', 32, 4096, 32, 8, 14336, { sliding_window: 4096 });
const QWEN25_7B = llamaLike('qwen2', 28, 3584, 28, 4, 18944, { vocab_size: 152064 });
const neox = (layers: number, hidden: number, heads: number): ModelConfig =>
  parseConfig({ model_type: 'gpt_neox', num_hidden_layers: layers, hidden_size: hidden, num_attention_heads: heads, intermediate_size: 4 * hidden, vocab_size: 50432, max_position_embeddings: 2048, rotary_pct: 0.25, layer_norm_eps: 1e-5, use_parallel_residual: true });
const NEOX_20B = neox(44, 6144, 64);
const gpt2 = (layers: number, embd: number, heads: number): ModelConfig => parseConfig({ model_type: 'gpt2', n_layer: layers, n_embd: embd, n_head: heads, n_positions: 1024, vocab_size: 50257 });
const gptj = (layers: number): ModelConfig => parseConfig({ model_type: 'gptj', n_layer: layers, n_embd: 4096, n_head: 16, rotary_dim: 64, n_positions: 2048, vocab_size: 50400 });

/** The keys every published ROME file has, as in the file (v_loss_layer included). */
const ROME_7B = { layers: [5], fact_token: 'subject_last', v_num_grad_steps: 25, v_lr: 0.5, v_loss_layer: 31, v_weight_decay: 1e-3, clamp_norm_factor: 4, kl_factor: 0.0625, mom2_adjustment: false, context_template_length_params: [[5, 10], [10, 10]], mom2_dataset: 'wikipedia', mom2_n_samples: 100000, mom2_dtype: 'float32' };
const MEMIT_7B = { layers: [4, 5, 6, 7, 8], clamp_norm_factor: 4, layer_selection: 'all', fact_token: 'subject_last', v_num_grad_steps: 25, v_lr: 0.5, v_loss_layer: 31, v_weight_decay: 1e-3, kl_factor: 0.0625, mom2_adjustment: true, mom2_update_weight: 15000, mom2_dataset: 'wikipedia', mom2_n_samples: 100000, mom2_dtype: 'float32' };

test('published shapes are recognised by family and shape', () => {
  assert.equal(presetModel(LLAMA2_7B), 'llama-2-7b');
  assert.equal(presetModel(LLAMA3_8B), 'llama-3-8b');
  assert.equal(presetModel(LLAMA32_1B), 'llama-3.2-1b');
  assert.equal(presetModel(LLAMA32_3B), 'llama-3.2-3b');
  assert.equal(presetModel(MISTRAL_7B), 'mistral-7b');
  assert.equal(presetModel(QWEN25_7B), 'qwen2.5-7b');
  assert.equal(presetModel(NEOX_20B), 'gpt-neox-20b');
  assert.equal(presetModel(gpt2(48, 1600, 25)), 'gpt2-xl');
  assert.equal(presetModel(gptj(28)), 'gpt-j-6b');
  assert.equal(presetModel(gptj(12)), 'gptj-family');
  // Same depth, other width: not the published model.
  assert.equal(presetModel(llamaLike('llama', 32, 2048, 16, 16, 5504)), undefined);
  assert.equal(presetModel(llamaLike('qwen3', 28, 3584, 28, 4, 18944)), undefined);
});

test('ROME presets equal the published files for Llama-2-7B, Llama-3-8B, Mistral-7B, Qwen2.5-7B', () => {
  for (const [cfg, file] of [[LLAMA2_7B, 'hparams/ROME/llama-7b.yaml'], [LLAMA3_8B, 'hparams/ROME/llama3-8b.yaml'], [MISTRAL_7B, 'hparams/ROME/mistral-7b.yaml']] as const) {
    const p = romePresetFor(cfg);
    assert.deepEqual(p.hparams, ROME_7B, file);
    assert.equal(p.source.startsWith(`zjunlp/EasyEdit ${file}`), true, p.source);
  }
  const q = romePresetFor(QWEN25_7B);
  assert.deepEqual(q.hparams, { ...ROME_7B, v_loss_layer: 27 });
  assert.match(q.source, /^zjunlp\/EasyEdit hparams\/ROME\/qwen2\.5-7b\.yaml/);
});

test("Llama-3.2-1B/3B: the files' numbers, with v_loss_layer at the last block (the files name 27/31)", () => {
  assert.deepEqual(romePresetFor(LLAMA32_1B).hparams, { ...ROME_7B, v_loss_layer: 15 });
  assert.deepEqual(romePresetFor(LLAMA32_3B).hparams, { ...ROME_7B, v_loss_layer: 27 });
  assert.deepEqual(memitPresetFor(LLAMA32_1B).hparams, { ...MEMIT_7B, v_loss_layer: 15 });
  assert.deepEqual(memitPresetFor(LLAMA32_3B).hparams, { ...MEMIT_7B, v_loss_layer: 27 });
  assert.match(romePresetFor(LLAMA32_1B).source, /llama3\.2-1b\.yaml.*v_loss_layer set to the last block/);
});

test('MEMIT presets equal the published files', () => {
  assert.deepEqual(memitPresetFor(LLAMA2_7B).hparams, MEMIT_7B);
  assert.deepEqual(memitPresetFor(MISTRAL_7B).hparams, MEMIT_7B);
  assert.deepEqual(memitPresetFor(QWEN25_7B).hparams, { ...MEMIT_7B, v_loss_layer: 27 });
  // AlphaEdit's Llama3-8B.json: clamp 0.75, v_lr 1e-1, weight decay 0.5.
  assert.deepEqual(memitPresetFor(LLAMA3_8B).hparams, { ...MEMIT_7B, clamp_norm_factor: 0.75, v_lr: 0.1, v_weight_decay: 0.5 });
  assert.match(memitPresetFor(LLAMA3_8B).source, /^jianghoucheng\/AlphaEdit hparams\/MEMIT\/Llama3-8B\.json/);
  assert.match(memitPresetFor(MISTRAL_7B).source, /^zjunlp\/EasyEdit hparams\/MEMIT\/mistral-7b\.yaml/);
});

test('GPT-NeoX-20B: kmeng01/memit hparams/ROME and (OrthoEdit fork) hparams/MEMIT EleutherAI_gpt-neox-20b.json', () => {
  const rome = romePresetFor(NEOX_20B);
  assert.deepEqual(rome.hparams, { layers: [15], fact_token: 'subject_last', v_num_grad_steps: 20, v_lr: 0.5, v_loss_layer: 43, v_weight_decay: 0.5, clamp_norm_factor: 4, kl_factor: 0.0625, mom2_adjustment: true, context_template_length_params: [[5, 10], [10, 10]], mom2_dataset: 'wikipedia', mom2_n_samples: 100000, mom2_dtype: 'float32' });
  assert.match(rome.source, /^kmeng01\/memit hparams\/ROME\/EleutherAI_gpt-neox-20b\.json/);
  const memit = memitPresetFor(NEOX_20B);
  assert.deepEqual(memit.hparams, { layers: [6, 7, 8, 9, 10], clamp_norm_factor: 0.8, layer_selection: 'all', fact_token: 'subject_last', v_num_grad_steps: 20, v_lr: 0.5, v_loss_layer: 43, v_weight_decay: 0.5, kl_factor: 0.0625, mom2_adjustment: true, mom2_update_weight: 6000, mom2_dataset: 'wikipedia', mom2_n_samples: 50000, mom2_dtype: 'float32' });
  // kmeng01/memit ships no MEMIT NeoX file in any commit; the preset names the fork it was read from.
  assert.match(memit.source, /^JoveReCode\/OrthoEdit hparams\/MEMIT\/EleutherAI_gpt-neox-20b\.json/);
});

test('same family at another depth: edited layers moved to the same relative depth, the rest kept', () => {
  // TinyLlama-1.1B (22 layers): ROME round(5/32·22) = 3; MEMIT centre round(6/32·22) = 4 → 2..6.
  const tiny = llamaLike('llama', 22, 2048, 32, 4, 5632);
  assert.deepEqual(romePresetFor(tiny).hparams, { ...ROME_7B, layers: [3], v_loss_layer: 21 });
  assert.deepEqual(memitPresetFor(tiny).hparams, { ...MEMIT_7B, layers: [2, 3, 4, 5, 6], v_loss_layer: 21 });
  assert.match(romePresetFor(tiny).source, /^scaled by depth from zjunlp\/EasyEdit hparams\/ROME\/llama-7b\.yaml.*32 → 22 layers/);
  // Pythia-1.4B (24 layers): ROME round(15/44·24) = 8; MEMIT centre round(8/44·24) = 4 → 2..6.
  const pythia = neox(24, 2048, 16);
  assert.deepEqual(romePresetFor(pythia).hparams.layers, [8]);
  assert.equal(romePresetFor(pythia).hparams.v_loss_layer, 23);
  assert.deepEqual(memitPresetFor(pythia).hparams, { ...memitPresetFor(NEOX_20B).hparams, layers: [2, 3, 4, 5, 6], v_loss_layer: 23 });
  // Qwen3-8B (36 layers) from Qwen2.5-7B (28): ROME round(5/28·36) = 6; MEMIT centre round(6/28·36) = 8 → 6..10.
  const qwen3 = llamaLike('qwen3', 36, 4096, 32, 8, 12288, { head_dim: 128 });
  assert.deepEqual(romePresetFor(qwen3).hparams, { ...ROME_7B, layers: [6], v_loss_layer: 35 });
  assert.deepEqual(memitPresetFor(qwen3).hparams.layers, [6, 7, 8, 9, 10]);
  assert.match(romePresetFor(qwen3).source, /qwen2\.5-7b\.yaml.*28 → 36 layers/);
  // Gemma-7B (28 layers): no published Gemma file; from Llama-2-7B's: round(5/32·28) = 4, centre round(6/32·28) = 5 → 3..7.
  const gemma = llamaLike('gemma', 28, 3072, 16, 16, 24576, { head_dim: 256 });
  assert.deepEqual(romePresetFor(gemma).hparams, { ...ROME_7B, layers: [4], v_loss_layer: 27 });
  assert.deepEqual(memitPresetFor(gemma).hparams.layers, [3, 4, 5, 6, 7]);
  // Mistral at another depth scales from Mistral-7B's own file.
  assert.match(romePresetFor(llamaLike('mistral', 40, 5120, 32, 8, 14336)).source, /mistral-7b\.yaml.*32 → 40 layers/);
});

test('GPT-2 XL and GPT-J 6B presets are the reference files, unchanged', () => {
  const xl = gpt2(48, 1600, 25);
  assert.deepEqual(romePresetFor(xl).hparams, ROME_GPT2_XL);
  assert.deepEqual(memitPresetFor(xl).hparams, MEMIT_GPT2_XL);
  assert.deepEqual(ftPresetFor(xl).hparams, FT_GPT2_XL);
  assert.equal(romePresetFor(xl).source, 'kmeng01/rome hparams/ROME/gpt2-xl.json');
  assert.equal(memitPresetFor(xl).source, 'kmeng01/memit hparams/MEMIT/gpt2-xl.json');
  assert.deepEqual(romePresetFor(gptj(28)).hparams, ROME_GPT_J);
  assert.deepEqual(memitPresetFor(gptj(28)).hparams, MEMIT_GPT_J);
  assert.deepEqual(ftPresetFor(gptj(28)).hparams, FT_GPT_J);
  assert.deepEqual(ftPresetFor(gptj(12)).hparams, FT_GPT_J);
  // The published values themselves (kmeng01/rome, kmeng01/memit files).
  assert.deepEqual([ROME_GPT2_XL.layers, ROME_GPT2_XL.v_lr, ROME_GPT2_XL.clamp_norm_factor, ROME_GPT2_XL.v_weight_decay], [[17], 0.5, 4, 0.5]);
  assert.deepEqual([MEMIT_GPT_J.layers, MEMIT_GPT_J.clamp_norm_factor, MEMIT_GPT_J.mom2_update_weight, MEMIT_GPT_J.v_num_grad_steps], [[3, 4, 5, 6, 7, 8], 0.75, 15000, 25]);
});

test('small and unpublished models keep the small-model presets (values as before issue 16)', () => {
  const small = (cfg: ModelConfig): void => {
    const L = cfg.n_layers;
    const layer = L <= 8 ? 0 : Math.floor(L / 3) - 1;
    assert.deepEqual(romePresetFor(cfg).hparams, { ...ROME_GPT2_XL, layers: [layer], v_loss_layer: L - 1, v_weight_decay: 0.001, clamp_norm_factor: 20, v_num_grad_steps: 200 });
    assert.equal(memitPresetFor(cfg).hparams.clamp_norm_factor, 20);
    assert.equal(memitPresetFor(cfg).hparams.mom2_update_weight, 100);
    assert.match(romePresetFor(cfg).source, /small-model preset/);
  };
  small(gpt2(6, 192, 6)); // the embedded model's shape
  small(gpt2(12, 768, 12)); // GPT-2 small: no published file
  small(gptj(4));
  small(llamaLike('llama', 3, 32, 4, 2, 64, { head_dim: 8 })); // llama-tiny-random
  small(neox(2, 32, 2)); // neox-tiny-random
  assert.deepEqual(memitPresetFor(gpt2(6, 192, 6)).hparams.layers, [0, 1, 2]);
  assert.deepEqual(memitPresetFor(gpt2(12, 768, 12)).hparams.layers, [1, 2, 3, 4, 5]);
  assert.deepEqual(memitPresetFor(gpt2(4, 64, 4)).hparams.layers, [0, 1, 2]); // gpt2-tiny-trained: the window already ends below block 3
  assert.deepEqual(ftPresetFor(gpt2(12, 768, 12)).hparams, { ...FT_GPT2_XL, lr: 5e-3, norm_constraint: 5e-3 });
  assert.deepEqual(ftPresetFor(gpt2(36, 1280, 20)).hparams, FT_GPT2_XL);
  assert.deepEqual(ftPresetFor(LLAMA2_7B).hparams, FT_GPT2_XL);
  assert.match(ftPresetFor(LLAMA2_7B).source, /gpt2-xl_constr\.json/);
});

test("MEMIT's small-model window stays below the last block (z there has no NLL gradient at the prompt's end)", () => {
  assert.deepEqual(memitPresetFor(llamaLike('llama', 3, 32, 4, 2, 64, { head_dim: 8 })).hparams.layers, [0, 1]); // llama-tiny-random
  assert.deepEqual(memitPresetFor(gptj(3)).hparams.layers, [0, 1]); // gptj-tiny-random
  for (const t of ['mistral', 'qwen2', 'qwen3', 'gemma']) assert.deepEqual(memitPresetFor(llamaLike(t, 2, 32, 4, 1, 64)).hparams.layers, [0], t);
  assert.deepEqual(memitPresetFor(neox(2, 32, 2)).hparams.layers, [0]);
  // A one-block model has nothing lower: the window is kept (the edit can still reach a prompt that ends at the subject).
  assert.deepEqual(memitPresetFor(gpt2(1, 64, 4)).hparams.layers, [0]);
  assert.deepEqual(belowLastBlock([3, 4, 5, 6, 7], 8), [3, 4, 5, 6]);
  assert.deepEqual(belowLastBlock([4, 5, 6, 7, 8], 32), [4, 5, 6, 7, 8]);
});
