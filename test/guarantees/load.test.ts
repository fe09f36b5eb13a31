/**
 * Guarantee (issue 15, items 3, 5, 7, 10): every bad model folder — sizes in config.json that the
 * weights do not have, NaN/Inf weights, unreadable files, link loops, folders and pipes where files
 * belong, truncated or foreign weights — is refused with exit 2 and one line naming the file and what
 * is wrong, before anything large is allocated; files with a UTF-8 BOM load; and the model folder is
 * never changed. Fixtures are copies of the golden models, damaged one way each.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { isLocusError } from '../../src/engine/errors';
import { corpusFromTextFile } from '../../src/engine/methods/stats/corpus';
import type { EngineError } from '../../src/extension/workerClient';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import { golden, repoRoot, tempDir } from '../helpers/paths';
import { checkRun, guaranteeRows, isRoot, runCli } from './harness';
import type { GuaranteeRow } from './harness';

/** Vocab.json + merges.txt tokenizer, F32 weights, 4 layers of width 64. */
const GPT2 = golden('gpt2-tiny-trained');
/** tokenizer.json tokenizer (the embedded model). */
const EMBEDDED = path.join(repoRoot, 'assets', 'default-model');
const GPT2_FILES = ['config.json', 'model.safetensors', 'merges.txt', 'vocab.json', 'special_tokens_map.json', 'tokenizer_config.json'];
const EMBEDDED_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

const root = tempDir('locus-load-');
// The unprivileged rows run the CLI as "nobody": it must be able to enter the fixtures.
fs.chmodSync(root, 0o755);
after(() => {
  // Fixtures made unreadable or unlistable must be made removable again.
  for (const d of fs.readdirSync(root)) {
    const st = fs.lstatSync(path.join(root, d));
    if (!st.isSymbolicLink()) fs.chmodSync(path.join(root, d), 0o755);
  }
  fs.rmSync(root, { recursive: true, force: true });
});

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** A fresh copy of a golden model folder at root/name, writable, then damaged by `damage`. */
function fixture(name: string, damage: (dir: string) => void, base: 'gpt2' | 'embedded' = 'gpt2'): string {
  const dir = path.join(root, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { mode: 0o755 });
  const [src, files] = base === 'gpt2' ? [GPT2, GPT2_FILES] : [EMBEDDED, EMBEDDED_FILES];
  for (const f of files) {
    fs.copyFileSync(path.join(src, f), path.join(dir, f));
    fs.chmodSync(path.join(dir, f), 0o644);
  }
  damage(dir);
  return dir;
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c, null, 2));
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The header of a safetensors file and where its data section starts. */
function header(file: string): { entries: Record<string, HeaderEntry>; dataStart: number; headerLen: number } {
  const bytes = fs.readFileSync(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const entries = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, HeaderEntry>;
  delete entries['__metadata__'];
  return { entries, dataStart: 8 + headerLen, headerLen };
}

/** Writes `value` (NaN, ±Inf) as F32 into `count` elements, spread over the tensor or its last ones, in place. */
function poison(dir: string, tensor: string, count: number, value: number, where: 'spread' | 'end' = 'spread'): void {
  const file = path.join(dir, 'model.safetensors');
  const { entries, dataStart } = header(file);
  const e = entries[tensor];
  assert.equal(e.dtype, 'F32', `${tensor} is F32 in the golden model`);
  const n = (e.data_offsets[1] - e.data_offsets[0]) / 4;
  const bytes = fs.readFileSync(file);
  for (let k = 0; k < count; k++) {
    const i = where === 'end' ? n - count + k : Math.floor((k * n) / count);
    bytes.writeFloatLE(value, dataStart + e.data_offsets[0] + 4 * i);
  }
  fs.writeFileSync(file, bytes);
}

/** Replaces text in the safetensors header, keeping its length (so every offset stays valid). */
function editHeader(dir: string, from: string, to: string): void {
  assert.equal(from.length, to.length, 'same length keeps the data offsets');
  const file = path.join(dir, 'model.safetensors');
  const { headerLen } = header(file);
  const bytes = fs.readFileSync(file);
  const text = bytes.subarray(8, 8 + headerLen).toString('latin1');
  assert.ok(text.includes(from), `header holds ${from}`);
  bytes.write(text.replace(from, to), 8, 'latin1');
  fs.writeFileSync(file, bytes);
}

/** Rewrites the safetensors header with `edit` (the data section is kept as is). */
function rewriteHeader(dir: string, edit: (h: Record<string, unknown>) => unknown): void {
  const file = path.join(dir, 'model.safetensors');
  const { dataStart, headerLen } = header(file);
  const bytes = fs.readFileSync(file);
  const h = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, unknown>;
  const json = Buffer.from(JSON.stringify(edit(h) ?? h));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([prefix, json, bytes.subarray(dataStart)]));
}

/** Moves model.safetensors to one shard named in a model.safetensors.index.json (written with `bom`). */
function shard(dir: string, bom: boolean): void {
  const names = Object.keys(header(path.join(dir, 'model.safetensors')).entries);
  fs.renameSync(path.join(dir, 'model.safetensors'), path.join(dir, 'model-00001-of-00001.safetensors'));
  const index = Buffer.from(JSON.stringify({ metadata: {}, weight_map: Object.fromEntries(names.map((n) => [n, 'model-00001-of-00001.safetensors'])) }));
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), bom ? Buffer.concat([BOM, index]) : index);
}

/** Prepends a UTF-8 byte-order mark to `file`. */
const withBom = (file: string): void => fs.writeFileSync(file, Buffer.concat([BOM, fs.readFileSync(file)]));

const probe = (dir: string, ...extra: string[]): string[] => ['probe', '--model', dir, '--prompt', 'x', ...extra];

/** A row that loads a damaged copy: exit 2, one line matching `message`, the copy unchanged. */
function refused(name: string, damage: (dir: string) => void, message: RegExp, opts: { base?: 'gpt2' | 'embedded'; unprivileged?: boolean; unreadable?: string } = {}): GuaranteeRow {
  const dir = path.join(root, name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
  return {
    name,
    before: () => void fixture(path.basename(dir), damage, opts.base),
    argv: () => probe(dir),
    exit: 2,
    message,
    unprivileged: opts.unprivileged,
    // Not root: a file made unreadable cannot be hashed by the test either; the others still are.
    unchanged: () => {
      if (isRoot || !opts.unreadable) return [dir];
      return opts.unreadable === '*' ? [] : fs.readdirSync(dir).filter((f) => f !== opts.unreadable).map((f) => path.join(dir, f));
    },
  };
}

/** A row whose damaged copy still loads (exit 0) and stays unchanged. */
function loads(name: string, damage: (dir: string) => void, base: 'gpt2' | 'embedded' = 'gpt2', extra: string[] = [], message?: RegExp): GuaranteeRow {
  const dir = path.join(root, name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
  return { name, before: () => void fixture(path.basename(dir), damage, base), argv: () => probe(dir, ...extra), exit: 0, message, unchanged: () => [dir] };
}

const cfgRow = (name: string, edit: (c: Record<string, unknown>) => void, message: RegExp): GuaranteeRow =>
  refused(name, (d) => editConfig(d, edit), message);

// --- config.json sizes: bounded, then checked against the weights' real shapes ---------------------
const CONFIG_ROWS: GuaranteeRow[] = [
  cfgRow('n_layer 1,000,000,000 is refused at once (no out-of-memory)', (c) => (c['n_layer'] = 1_000_000_000), /config\.json: "n_layer" is 1,000,000,000, more than Locus accepts/),
  cfgRow('n_layer above the layers in the weights names both', (c) => (c['n_layer'] = 5), /config\.json: "n_layer" is 5 but model\.safetensors holds 4 layers \(0 to 3\)/),
  cfgRow('n_embd 2^40 is refused by its bound', (c) => (c['n_embd'] = 2 ** 40), /config\.json: "n_embd" is 1,099,511,627,776, more than Locus accepts/),
  cfgRow('n_embd unlike the embedding width names the tensor', (c) => (c['n_embd'] = 128), /config\.json: "n_embd" is 128 but transformer\.wte\.weight is \[50257, 64\]/),
  cfgRow('vocab_size 10^12 is refused by its bound', (c) => (c['vocab_size'] = 1e12), /config\.json: "vocab_size" is 1,000,000,000,000, more than Locus accepts/),
  cfgRow('vocab_size unlike the embedding rows names the tensor', (c) => (c['vocab_size'] = 60000), /config\.json: "vocab_size" is 60,000 but transformer\.wte\.weight is \[50257, 64\]/),
  cfgRow('n_positions 10^9 is refused by its bound', (c) => (c['n_positions'] = 1e9), /config\.json: "n_positions" is 1,000,000,000, more than Locus accepts/),
  cfgRow('n_positions unlike the position table names the tensor', (c) => (c['n_positions'] = 512), /config\.json: "n_positions" is 512 but transformer\.wpe\.weight is \[1024, 64\]/),
  cfgRow('n_head 10^9 is refused by its bound', (c) => (c['n_head'] = 1e9), /config\.json: "n_head" is 1,000,000,000, more than Locus accepts/),
  cfgRow('n_embd not divisible by n_head', (c) => (c['n_head'] = 3), /config\.json: n_embd 64 is not divisible by n_head 3/),
  cfgRow('n_head 0', (c) => (c['n_head'] = 0), /config\.json: "n_head" must be a positive integer \(got 0\)/),
  cfgRow('n_layer negative', (c) => (c['n_layer'] = -4), /config\.json: "n_layer" must be a positive integer \(got -4\)/),
  cfgRow('n_layer not an integer', (c) => (c['n_layer'] = 2.5), /config\.json: "n_layer" must be a positive integer \(got 2\.5\)/),
  cfgRow('n_layer a string', (c) => (c['n_layer'] = '4'), /config\.json: "n_layer" must be a positive integer \(got "4"\)/),
  cfgRow('n_inner unlike the MLP weights', (c) => (c['n_inner'] = 512), /transformer\.h\.0\.mlp\.c_fc\.weight has shape \[64, 256\], expected \[64, 512\] from config\.json/),
  cfgRow('n_inner 10^12 is refused by its bound', (c) => (c['n_inner'] = 1e12), /config\.json: "n_inner" is 1,000,000,000,000, more than Locus accepts/),
  cfgRow('eos_token_id outside the vocabulary', (c) => (c['eos_token_id'] = 99999), /config\.json: "eos_token_id" 99999 is not a token id \(0 to 50256\)/),
  cfgRow('model_type missing', (c) => delete c['model_type'], /config\.json: model_type undefined is not supported; supported: gpt2, gptj/),
  cfgRow('model_type unsupported', (c) => (c['model_type'] = 'mamba'), /config\.json: model_type "mamba" is not supported/),
  refused('layer_norm_epsilon 1e999 (Infinity once parsed)', (d) => {
    const f = path.join(d, 'config.json');
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(/"layer_norm_epsilon": [^,]+,/, '"layer_norm_epsilon": 1e999,'));
  }, /config\.json: "layer_norm_epsilon" must be a number between 0 and 1/),
  refused('config.json that is an array', (d) => fs.writeFileSync(path.join(d, 'config.json'), '[{"model_type": "gpt2"}]'), /config\.json must hold a JSON object .*not an array/),
  refused('config.json that is not JSON', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": "gpt2",'), /config\.json is not valid JSON/),
  refused('config.json missing', (d) => fs.rmSync(path.join(d, 'config.json')), /has no config\.json: is it a Hugging Face model folder\?/),
];

// --- NaN/Inf in the weights ------------------------------------------------------------------------
const NAN_ROWS: GuaranteeRow[] = [
  refused('NaN in one weight names the tensor, the count and the flag', (d) => poison(d, 'transformer.h.0.mlp.c_fc.weight', 12, NaN),
    /model\.safetensors: transformer\.h\.0\.mlp\.c_fc\.weight has 12 NaN\/Inf of 16,384; pass --allow-nonfinite to load anyway$/m),
  refused('Inf in the embedding', (d) => poison(d, 'transformer.wte.weight', 1, -Infinity), /transformer\.wte\.weight has 1 NaN\/Inf of 3,216,448; pass --allow-nonfinite/),
  refused('NaN in every layer lists the first five and a count', (d) => {
    for (let l = 0; l < 4; l++) for (const t of ['ln_1.weight', 'ln_2.bias']) poison(d, `transformer.h.${l}.${t}`, 2, NaN);
  }, /h\.0\.ln_1\.weight has 2 NaN\/Inf of 64; .*h\.2\.ln_1\.weight has 2 NaN\/Inf of 64; … and 3 more tensors; pass --allow-nonfinite/),
  // The NaNs sit in the last position's row, which a one-token prompt never reads: the probe's
  // result stays finite, so the row shows the load itself (warning, exit 0).
  loads('--allow-nonfinite loads NaN weights with a warning', (d) => poison(d, 'transformer.wpe.weight', 12, NaN, 'end'), 'gpt2', ['--allow-nonfinite'],
    /^warning: .*model\.safetensors: transformer\.wpe\.weight has 12 NaN\/Inf of 65,536; loaded anyway/m),
  refused('the same NaN weights without --allow-nonfinite', (d) => poison(d, 'transformer.wpe.weight', 12, NaN, 'end'), /transformer\.wpe\.weight has 12 NaN\/Inf of 65,536; pass --allow-nonfinite/),
];

// --- the weights file ------------------------------------------------------------------------------
const WEIGHT_ROWS: GuaranteeRow[] = [
  refused('model.safetensors that is a folder', (d) => {
    fs.rmSync(path.join(d, 'model.safetensors'));
    fs.mkdirSync(path.join(d, 'model.safetensors'));
  }, /weights file .*model\.safetensors is a folder, expected a file/),
  refused('model.safetensors empty', (d) => fs.writeFileSync(path.join(d, 'model.safetensors'), ''), /model\.safetensors is 0 bytes, shorter than the 8-byte header length/),
  refused('model.safetensors truncated', (d) => fs.truncateSync(path.join(d, 'model.safetensors'), 5_000_000), /model\.safetensors: tensor .* past the end of the file .*truncated or corrupt/),
  refused('header length larger than the file', (d) => {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(1n << 40n);
    fs.writeFileSync(path.join(d, 'model.safetensors'), b);
  }, /model\.safetensors declares a 1099511627776-byte header, more than the 100000000-byte limit/),
  refused('a dtype the engine cannot read as weights (I32)', (d) => editHeader(d, '"dtype":"F32","shape":[64,256]', '"dtype":"I32","shape":[64,256]'),
    /model\.safetensors: transformer\.h\.\d\.mlp\.c_fc\.weight has dtype I32; weights must be F32, F16, BF16, F64/),
  refused('a dtype the format does not define', (d) => editHeader(d, '"dtype":"F32","shape":[64,256]', '"dtype":"Q32","shape":[64,256]'), /has unknown dtype "Q32"/),
  refused('a sharded index pointing at a missing shard', (d) => {
    const names = Object.keys(header(path.join(d, 'model.safetensors')).entries);
    fs.renameSync(path.join(d, 'model.safetensors'), path.join(d, 'model-00001-of-00002.safetensors'));
    const weight_map = Object.fromEntries(names.map((n, i) => [n, i === names.length - 1 ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors']));
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map }));
  }, /model\.safetensors\.index\.json puts .* in model-00002-of-00002\.safetensors, which is missing from .*: the download is incomplete/),
  refused('a safetensors header that is an array', (d) => rewriteHeader(d, (h) => [h]), /model\.safetensors: the header is not a JSON object/),
  refused('two tensors over the same bytes', (d) => rewriteHeader(d, (h) => {
    (h['transformer.ln_f.bias'] as HeaderEntry).data_offsets = (h['transformer.ln_f.weight'] as HeaderEntry).data_offsets;
  }), /model\.safetensors: tensors transformer\.ln_f\.(bias|weight) and transformer\.ln_f\.(bias|weight) overlap/),
  refused('a sharded index that is an array', (d) => {
    shard(d, false);
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), '[]');
  }, /model\.safetensors\.index\.json has no "weight_map" object/),
  refused('a shard name that leaves the folder', (d) => {
    shard(d, false);
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'transformer.wte.weight': '../model.safetensors' } }));
  }, /weight_map puts transformer\.wte\.weight in "\.\.\/model\.safetensors", which is not a file name in the folder/),
  loads('a sharded checkpoint whose index starts with a UTF-8 BOM loads', (d) => shard(d, true)),
  refused('only a pickle checkpoint', (d) => fs.renameSync(path.join(d, 'model.safetensors'), path.join(d, 'pytorch_model.bin')), /only pickle checkpoints \(pytorch_model\.bin\), which Locus refuses/),
  refused('no weights at all', (d) => fs.rmSync(path.join(d, 'model.safetensors')), /has no model\.safetensors \(nor model\.safetensors\.index\.json\)/),
  refused('model.safetensors a named pipe (would block a reader forever)', (d) => {
    fs.rmSync(path.join(d, 'model.safetensors'));
    assert.equal(spawnSync('mkfifo', [path.join(d, 'model.safetensors')]).status, 0);
  }, /weights file .*model\.safetensors is not a regular file/),
  refused('model.safetensors a link loop', (d) => {
    fs.rmSync(path.join(d, 'model.safetensors'));
    fs.symlinkSync('w2', path.join(d, 'model.safetensors'));
    fs.symlinkSync('model.safetensors', path.join(d, 'w2'));
  }, /weights file .*model\.safetensors: a symbolic link loop/),
];

// --- unreadable files, links, BOMs -----------------------------------------------------------------
const unreadable = (file: string) => (d: string) => fs.chmodSync(path.join(d, file), 0o000);
const FILE_ROWS: GuaranteeRow[] = [
  refused('config.json unreadable reads "permission denied"', unreadable('config.json'), /model config .*config\.json: permission denied$/m, { unprivileged: true, unreadable: 'config.json' }),
  refused('model.safetensors unreadable reads "permission denied" (not a bug)', unreadable('model.safetensors'), /weights file .*model\.safetensors: permission denied$/m, { unprivileged: true, unreadable: 'model.safetensors' }),
  refused('tokenizer.json unreadable reads "permission denied"', unreadable('tokenizer.json'), /tokenizer file .*tokenizer\.json: permission denied$/m, { base: 'embedded', unprivileged: true, unreadable: 'tokenizer.json' }),
  refused('vocab.json unreadable reads "permission denied"', unreadable('vocab.json'), /tokenizer file .*vocab\.json: permission denied$/m, { unprivileged: true, unreadable: 'vocab.json' }),
  refused('merges.txt unreadable reads "permission denied"', unreadable('merges.txt'), /tokenizer file .*merges\.txt: permission denied$/m, { unprivileged: true, unreadable: 'merges.txt' }),
  refused('a model folder that cannot be listed reads "permission denied"', (d) => fs.chmodSync(d, 0o000), /model folder .*: permission denied$/m, { unprivileged: true, unreadable: '*' }),
  refused('config.json a link loop', (d) => {
    fs.rmSync(path.join(d, 'config.json'));
    fs.symlinkSync('c2', path.join(d, 'config.json'));
    fs.symlinkSync('config.json', path.join(d, 'c2'));
  }, /model config .*config\.json: a symbolic link loop/),
  {
    name: 'a symlink loop as the model path reads as a loop, not "does not exist"',
    before: () => {
      for (const [a, b] of [['loop-a', 'loop-b'], ['loop-b', 'loop-a']]) {
        fs.rmSync(path.join(root, a), { force: true });
        fs.symlinkSync(b, path.join(root, a));
      }
    },
    argv: () => probe(path.join(root, 'loop-a')),
    exit: 2,
    message: /model folder .*loop-a: a symbolic link loop/,
  },
  refused('tokenizer files from another model (more ids than the embedding has rows)', (d) => {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.rmSync(path.join(d, f));
    for (const f of ['vocab.json', 'merges.txt']) fs.copyFileSync(path.join(GPT2, f), path.join(d, f));
  }, /the tokenizer has 50,257 tokens but config\.json's "vocab_size" is 8,192: the tokenizer files are from another model/, { base: 'embedded' }),
  refused('config.json that is a folder', (d) => {
    fs.rmSync(path.join(d, 'config.json'));
    fs.mkdirSync(path.join(d, 'config.json'));
  }, /model config .*config\.json is a folder, expected a file/),
  loads('config.json with a UTF-8 BOM loads', (d) => withBom(path.join(d, 'config.json'))),
  loads('vocab.json, merges.txt and tokenizer_config.json with a UTF-8 BOM load', (d) => {
    for (const f of ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']) withBom(path.join(d, f));
  }),
  loads('tokenizer.json with a UTF-8 BOM loads', (d) => withBom(path.join(d, 'tokenizer.json')), 'embedded'),
];

// --- CounterFact files (eval --dataset) ------------------------------------------------------------
const SAMPLE = path.join(repoRoot, 'assets', 'data', 'counterfact_sample.json');
const dataset = (name: string): string => path.join(root, name);
const DATASET_ROWS: GuaranteeRow[] = [
  {
    name: 'a CounterFact file that cannot be read reads "permission denied"',
    before: () => {
      fs.copyFileSync(SAMPLE, dataset('cf-unreadable.json'));
      fs.chmodSync(dataset('cf-unreadable.json'), 0o000);
    },
    argv: () => ['eval', '--dataset', dataset('cf-unreadable.json'), '--cases', '0'],
    exit: 2,
    message: /dataset file .*cf-unreadable\.json: permission denied$/m,
    unprivileged: true,
    unchanged: () => (isRoot ? [dataset('cf-unreadable.json')] : []),
  },
  {
    name: 'a CounterFact path that is a link loop reads as a loop',
    before: () => {
      for (const [a, b] of [['cf-loop-a', 'cf-loop-b'], ['cf-loop-b', 'cf-loop-a']]) {
        fs.rmSync(dataset(a), { force: true });
        fs.symlinkSync(b, dataset(a));
      }
    },
    argv: () => ['eval', '--dataset', dataset('cf-loop-a'), '--cases', '0'],
    exit: 2,
    message: /dataset file .*cf-loop-a: a symbolic link loop/,
  },
];

guaranteeRows([...CONFIG_ROWS, ...NAN_ROWS, ...WEIGHT_ROWS, ...FILE_ROWS, ...DATASET_ROWS]);

test('n_layer 1,000,000,000 is refused in seconds, not after minutes of allocation', async () => {
  const dir = fixture('huge-layers-timed', (d) => editConfig(d, (c) => (c['n_layer'] = 1_000_000_000)));
  const t0 = Date.now();
  const r = await runCli(probe(dir));
  checkRun({ exit: 2, message: /"n_layer"/ }, r);
  assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
});

test('the BOM probe gives the same answer as the clean copy', async () => {
  const clean = await runCli(probe(fixture('bom-clean', () => undefined, 'embedded'), '--json'));
  const bom = await runCli(probe(fixture('bom-all', (d) => EMBEDDED_FILES.filter((f) => f.endsWith('.json')).forEach((f) => withBom(path.join(d, f))), 'embedded'), '--json'));
  assert.equal(clean.code, 0, clean.stderr);
  assert.equal(bom.code, 0, bom.stderr);
  const top = (s: string): unknown => (JSON.parse(s) as { top: unknown }).top;
  assert.deepEqual(top(bom.stdout), top(clean.stdout));
});

test('a CounterFact file with a UTF-8 BOM loads (eval --dataset)', async () => {
  const sample = path.join(repoRoot, 'assets', 'data', 'counterfact_sample.json');
  const records = (JSON.parse(fs.readFileSync(sample, 'utf8')) as unknown[]).slice(0, 2);
  const file = path.join(root, 'counterfact-bom.json');
  fs.writeFileSync(file, Buffer.concat([BOM, Buffer.from(JSON.stringify(records))]));
  const r = await runCli(['eval', '--dataset', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { cases: unknown[] }).cases.length, 2);
});

test('a statistics corpus with a UTF-8 BOM reads as the same documents', () => {
  const plain = path.join(root, 'corpus.txt');
  const bom = path.join(root, 'corpus-bom.txt');
  fs.writeFileSync(plain, 'The Eiffel Tower is in Paris.\nThe Space Needle is in Seattle.\n');
  fs.writeFileSync(bom, Buffer.concat([BOM, fs.readFileSync(plain)]));
  assert.deepEqual(corpusFromTextFile(bom, 'c').texts, corpusFromTextFile(plain, 'c').texts);
  assert.equal(corpusFromTextFile(bom, 'c').texts[0], 'The Eiffel Tower is in Paris.');
});

test('a statistics corpus that is absent, a folder or a link loop is one clear LocusError', () => {
  fs.mkdirSync(path.join(root, 'corpus-dir'), { recursive: true });
  fs.rmSync(path.join(root, 'corpus-loop'), { force: true });
  fs.symlinkSync('corpus-loop', path.join(root, 'corpus-loop'));
  for (const [name, message] of [
    ['corpus-absent.txt', /statistics corpus .*corpus-absent\.txt does not exist/],
    ['corpus-dir', /statistics corpus .*corpus-dir is a folder, expected a file/],
    ['corpus-loop', /statistics corpus .*corpus-loop: a symbolic link loop/],
  ] as const) {
    assert.throws(() => corpusFromTextFile(path.join(root, name)), (e: unknown) => isLocusError(e) && message.test(e.message));
  }
});

test('the worker refuses the same folders with the same line, and keeps the model it holds', async () => {
  const worker = inMemoryWorker();
  try {
    const info = await worker.send('model/load', { model: GPT2, threads: 1 });
    const nan = fixture('worker-nan', (d) => poison(d, 'transformer.h.0.mlp.c_fc.weight', 12, NaN));
    await assert.rejects(worker.send('model/load', { model: nan, threads: 1 }), (e: EngineError) => /c_fc\.weight has 12 NaN\/Inf of 16,384/.test(e.message));
    // Config sizes that the weights lack are refused before the loaded model is freed.
    const wide = fixture('worker-layers', (d) => editConfig(d, (c) => (c['n_layer'] = 5)));
    await worker.send('model/load', { model: GPT2, threads: 1 });
    await assert.rejects(worker.send('model/load', { model: wide, threads: 1 }), (e: EngineError) => /"n_layer" is 5 but model\.safetensors holds 4 layers/.test(e.message));
    assert.deepEqual(await worker.send('model/info', {}), info);
  } finally {
    await worker.dispose();
  }
});

test('fewer layers in config.json than in the weights loads, with a bounded list of unused tensors', async () => {
  const dir = fixture('fewer-layers', (d) => editConfig(d, (c) => (c['n_layer'] = 2)));
  const r = await runCli(probe(dir));
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
  assert.equal(warnings.length, 6, r.stderr);
  assert.match(warnings[0], /ignoring unexpected tensor transformer\.h\.2\./);
  assert.match(warnings[5], /^warning: … and 19 more unused tensors$/);
});
