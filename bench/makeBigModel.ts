/**
 * `node out/bench/makeBigModel.js [gpt2-xl|gptj-6b|all] [--out /work/big] [--tokenizer FOLDER] [--tokenizer-only]`: writes paper-scale model
 * folders with random weights from a fixed seed (issue 17's lean-weights benchmarks), streaming each
 * tensor in chunks so the whole model is never in memory. HF layout: config.json, model.safetensors,
 * and GPT-2's tokenizer (50,257 ids, from a golden folder's vocab.json + merges.txt; GPT-J's adds
 * `<|extratoken_1..143|>` up to its 50,400 rows, as EleutherAI/gpt-j-6b's tokenizer.json does).
 *   gpt2-xl: GPT-2 XL's shape (n_embd 1600, 48 layers, 25 heads, vocab 50,257), float32, 6.2 GB.
 *   gptj-6b: GPT-J-6B's shape (n_embd 4096, 28 layers, 16 heads, rotary_dim 64), bfloat16, 12.1 GB.
 * Never committed: `npm run bench -- scale` reads them from /work/big (or LOCUS_BIG_MODELS).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GPT2_EOS, gpt2TokenizerJson, parseMergesTxt } from '../src/engine/model/byteLevel';

export const BIG_MODELS_DIR = process.env['LOCUS_BIG_MODELS'] ?? '/work/big';
/** Any folder with GPT-2's vocab.json and merges.txt (the golden GPT-2 folder has them): the generated GPT-2 folders' tokenizer. */
export const GPT2_TOKENIZER_FROM = '/work/shared/golden/gpt2-tiny-trained';

interface TensorPlan {
  readonly name: string;
  readonly shape: readonly number[];
  /** 'one' (norm weights), 'zero' (biases of the MLP head), or the std of uniform noise. */
  readonly init: 'one' | 'zero' | number;
}

export interface BigModelSpec {
  readonly folder: string;
  readonly dtype: 'F32' | 'BF16';
  readonly config: Record<string, unknown>;
  readonly tensors: TensorPlan[];
}

/** A GPT-2-family shape: width, depth, heads and the folder name under BIG_MODELS_DIR. */
interface Gpt2Shape {
  readonly d: number;
  readonly layers: number;
  readonly heads: number;
  readonly name: string;
}

/**
 * HF GPT2LMHeadModel's names as the official checkpoints store them (no `transformer.` prefix, lm_head
 * tied), random weights with GPT-2's initialisation scales (c_proj scaled by 1/√(2L)).
 */
export function gpt2Spec(shape: Gpt2Shape, dir = BIG_MODELS_DIR): BigModelSpec {
  const { d: D, layers: L } = shape;
  const V = 50257;
  const P = 1024;
  const M = 4 * D;
  const tensors: TensorPlan[] = [
    { name: 'wte.weight', shape: [V, D], init: 0.02 },
    { name: 'wpe.weight', shape: [P, D], init: 0.01 },
  ];
  for (let l = 0; l < L; l++) {
    const h = `h.${l}`;
    tensors.push(
      { name: `${h}.ln_1.weight`, shape: [D], init: 'one' },
      { name: `${h}.ln_1.bias`, shape: [D], init: 'zero' },
      { name: `${h}.attn.c_attn.weight`, shape: [D, 3 * D], init: 0.02 },
      { name: `${h}.attn.c_attn.bias`, shape: [3 * D], init: 0.01 },
      { name: `${h}.attn.c_proj.weight`, shape: [D, D], init: 0.02 / Math.sqrt(2 * L) },
      { name: `${h}.attn.c_proj.bias`, shape: [D], init: 0.01 },
      { name: `${h}.ln_2.weight`, shape: [D], init: 'one' },
      { name: `${h}.ln_2.bias`, shape: [D], init: 'zero' },
      { name: `${h}.mlp.c_fc.weight`, shape: [D, M], init: 0.02 },
      { name: `${h}.mlp.c_fc.bias`, shape: [M], init: 0.01 },
      { name: `${h}.mlp.c_proj.weight`, shape: [M, D], init: 0.02 / Math.sqrt(2 * L) },
      { name: `${h}.mlp.c_proj.bias`, shape: [D], init: 0.01 },
    );
  }
  tensors.push({ name: 'ln_f.weight', shape: [D], init: 'one' }, { name: 'ln_f.bias', shape: [D], init: 'zero' });
  const config = {
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', activation_function: 'gelu_new', n_embd: D, n_head: shape.heads, n_layer: L,
    n_positions: P, n_ctx: P, n_inner: null, vocab_size: V, layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256,
    tie_word_embeddings: true, torch_dtype: 'float32',
  };
  return { folder: path.join(dir, shape.name), dtype: 'F32', config, tensors };
}

/** GPT-2 XL's shape (1.5B parameters, 6.2 GB in float32). */
export const gpt2XlSpec = (dir = BIG_MODELS_DIR): BigModelSpec => gpt2Spec({ d: 1600, layers: 48, heads: 25, name: 'gpt2-xl-random' }, dir);

/** GPT-2 small's shape (124M parameters, 0.5 GB). */
export const gpt2SmallSpec = (dir = BIG_MODELS_DIR): BigModelSpec => gpt2Spec({ d: 768, layers: 12, heads: 12, name: 'gpt2-small-random' }, dir);

/** HF GPTJForCausalLM's names (EleutherAI/gpt-j-6b): nn.Linear weights [out, in], no attention biases, untied lm_head with bias. */
export function gptj6bSpec(dir = BIG_MODELS_DIR): BigModelSpec {
  const D = 4096;
  const L = 28;
  const V = 50400;
  const M = 4 * D;
  const tensors: TensorPlan[] = [{ name: 'transformer.wte.weight', shape: [V, D], init: 0.02 }];
  for (let l = 0; l < L; l++) {
    const h = `transformer.h.${l}`;
    tensors.push(
      { name: `${h}.ln_1.weight`, shape: [D], init: 'one' },
      { name: `${h}.ln_1.bias`, shape: [D], init: 'zero' },
      { name: `${h}.attn.q_proj.weight`, shape: [D, D], init: 0.02 },
      { name: `${h}.attn.k_proj.weight`, shape: [D, D], init: 0.02 },
      { name: `${h}.attn.v_proj.weight`, shape: [D, D], init: 0.02 },
      { name: `${h}.attn.out_proj.weight`, shape: [D, D], init: 0.02 / Math.sqrt(2 * L) },
      { name: `${h}.mlp.fc_in.weight`, shape: [M, D], init: 0.02 },
      { name: `${h}.mlp.fc_in.bias`, shape: [M], init: 0.01 },
      { name: `${h}.mlp.fc_out.weight`, shape: [D, M], init: 0.02 / Math.sqrt(2 * L) },
      { name: `${h}.mlp.fc_out.bias`, shape: [D], init: 0.01 },
    );
  }
  tensors.push(
    { name: 'transformer.ln_f.weight', shape: [D], init: 'one' },
    { name: 'transformer.ln_f.bias', shape: [D], init: 'zero' },
    { name: 'lm_head.weight', shape: [V, D], init: 0.02 },
    { name: 'lm_head.bias', shape: [V], init: 0.01 },
  );
  const config = {
    architectures: ['GPTJForCausalLM'], model_type: 'gptj', activation_function: 'gelu_new', n_embd: D, n_head: 16, n_layer: L,
    n_positions: 2048, n_inner: null, rotary_dim: 64, vocab_size: V, layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256,
    tie_word_embeddings: false, torch_dtype: 'bfloat16',
  };
  return { folder: path.join(dir, 'gptj-6b-random'), dtype: 'BF16', config, tensors };
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const CHUNK = 1 << 22;

/** Fills `out` with uniform noise of standard deviation `std` (xorshift32, continuing from `state`). */
function fillUniform(out: Float32Array, std: number, state: { s: number }): void {
  const half = std * Math.sqrt(3); // U(-a, a) has std a/√3
  let s = state.s;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (((s >>> 0) / 4294967296) * 2 - 1) * half;
  }
  state.s = s;
}

/** float32 → bfloat16 bits, round to nearest even (as torch's `.to(torch.bfloat16)`); the inputs here are finite. */
function toBf16(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const b = bits[i];
    dst[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
}

/** tokenizer.json from GPT-2's vocab.json + merges.txt, padded with added tokens up to the model's vocab_size. */
function writeTokenizer(spec: BigModelSpec, from: string): void {
  const vocab = JSON.parse(fs.readFileSync(path.join(from, 'vocab.json'), 'utf8')) as Record<string, number>;
  const json = gpt2TokenizerJson(vocab, parseMergesTxt(fs.readFileSync(path.join(from, 'merges.txt'), 'utf8')));
  const added = json['added_tokens'] as Array<Record<string, unknown>>;
  const rows = spec.config['vocab_size'] as number;
  for (let id = Object.keys(vocab).length, k = 1; id < rows; id++, k++) {
    added.push({ id, content: `<|extratoken_${k}|>`, single_word: false, lstrip: false, rstrip: false, normalized: true, special: false });
  }
  fs.writeFileSync(path.join(spec.folder, 'tokenizer.json'), JSON.stringify(json));
  const config = { eos_token: GPT2_EOS, bos_token: GPT2_EOS, unk_token: GPT2_EOS, add_prefix_space: false, tokenizer_class: 'GPT2Tokenizer' };
  fs.writeFileSync(path.join(spec.folder, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.byteLength; ) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}

/** Writes `spec` into its folder (config, tokenizer, model.safetensors); `seed` decides every weight. */
export function writeBigModel(spec: BigModelSpec, tokenizerFrom: string, seed = 17): void {
  fs.mkdirSync(spec.folder, { recursive: true });
  fs.writeFileSync(path.join(spec.folder, 'config.json'), JSON.stringify(spec.config, null, 2));
  writeTokenizer(spec, tokenizerFrom);
  const width = spec.dtype === 'F32' ? 4 : 2;
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', locus: `random weights, seed ${seed}` } };
  let offset = 0;
  for (const t of spec.tensors) {
    const bytes = numel(t.shape) * width;
    header[t.name] = { dtype: spec.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, ' ')]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(spec.folder, 'model.safetensors');
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    writeAll(fd, prefix);
    writeAll(fd, json);
    const f32 = new Float32Array(CHUNK);
    const b16 = new Uint16Array(CHUNK);
    spec.tensors.forEach((t, i) => {
      const state = { s: (seed * 1_000_003 + i * 7919 + 1) >>> 0 || 1 };
      for (let done = 0, n = numel(t.shape); done < n; ) {
        const len = Math.min(CHUNK, n - done);
        const chunk = f32.subarray(0, len);
        if (t.init === 'one') chunk.fill(1);
        else if (t.init === 'zero') chunk.fill(0);
        else fillUniform(chunk, t.init, state);
        if (spec.dtype === 'F32') writeAll(fd, new Uint8Array(chunk.buffer, 0, len * 4));
        else {
          toBf16(chunk, b16);
          writeAll(fd, new Uint8Array(b16.buffer, 0, len * 2));
        }
        done += len;
      }
    });
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const oi = args.indexOf('--out');
  const dir = oi >= 0 ? args[oi + 1] : BIG_MODELS_DIR;
  const ti = args.indexOf('--tokenizer');
  const which = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--out' && args[i - 1] !== '--tokenizer') ?? 'all';
  const tokenizerFrom = ti >= 0 ? args[ti + 1] : GPT2_TOKENIZER_FROM;
  const specs = { 'gpt2-xl': gpt2XlSpec(dir), 'gptj-6b': gptj6bSpec(dir) };
  const chosen = which === 'all' ? Object.values(specs) : [specs[which as keyof typeof specs]];
  if (chosen[0] === undefined) throw new Error(`unknown model "${which}"; known: ${Object.keys(specs).join(', ')}, all`);
  for (const spec of chosen) {
    const t0 = Date.now();
    if (args.includes('--tokenizer-only')) writeTokenizer(spec, tokenizerFrom);
    else writeBigModel(spec, tokenizerFrom);
    console.log(`${spec.folder}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

if (require.main === module) main();
