/**
 * A fake Hugging Face hub cache in a temp folder, laid out as huggingface_hub writes it
 * (guides/manage-cache.md): `models--org--name/{refs/main, snapshots/<rev>/<file> → ../../blobs/<sha>,
 * blobs/<sha>}`. The models are copies of the goldens; the real ~/.cache/huggingface is never touched.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openSafetensorsFile, writeSafetensors } from '../../src/engine/model/safetensors';
import type { Tensor } from '../../src/engine/tensor/tensor';
import { golden, tempDir } from './paths';

/** Commit hashes look like git's: 40 hex digits. */
export const revision = (seed: string): string => crypto.createHash('sha1').update(seed).digest('hex');

export interface RepoFile {
  readonly name: string;
  /** The file's bytes; `undefined` for a link whose blob never arrived (dangling). */
  readonly content?: Buffer;
}

/**
 * Writes one revision of a repo: each file a blob named by its sha256 and a relative link in the
 * snapshot; `main` makes refs/main point at it. Returns the snapshot folder.
 */
export function addRevision(cacheDir: string, repoId: string, rev: string, files: readonly RepoFile[], opts: { main?: boolean } = {}): string {
  const repo = path.join(cacheDir, `models--${repoId.split('/').join('--')}`);
  const snapshot = path.join(repo, 'snapshots', rev);
  fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  fs.mkdirSync(snapshot, { recursive: true });
  for (const f of files) {
    const sha = crypto.createHash('sha256').update(f.content ?? f.name).digest('hex');
    if (f.content) fs.writeFileSync(path.join(repo, 'blobs', sha), f.content);
    const link = path.join(snapshot, f.name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), path.join(repo, 'blobs', sha)), link);
  }
  if (opts.main !== false) {
    fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'refs', 'main'), rev);
  }
  return snapshot;
}

/** A golden folder's files, by name (read-only sources: the blobs are fresh copies). */
export function goldenFiles(model: string, names: readonly string[]): RepoFile[] {
  return names.map((name) => ({ name, content: fs.readFileSync(golden(model, name)) }));
}

export const GPT2_FILES = ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer_config.json'];
export const LLAMA_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

/**
 * gpt2-tiny-trained's weights split in two safetensors shards (F32, as stored) with the
 * `model.safetensors.index.json` that transformers writes beside them.
 */
export function shardedGpt2Files(): RepoFile[] {
  const store = openSafetensorsFile(golden('gpt2-tiny-trained', 'model.safetensors'));
  const tensors: Array<{ name: string; tensor: Tensor }> = store.names().sort().map((name) => ({ name, tensor: store.read(name) }));
  store.close();
  const half = Math.ceil(tensors.length / 2);
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const dir = tempDir('locus-shards-');
  try {
    const parts = [tensors.slice(0, half), tensors.slice(half)];
    const weightMap: Record<string, string> = {};
    parts.forEach((part, i) => {
      writeSafetensors(path.join(dir, names[i]), part, { format: 'pt' });
      for (const t of part) weightMap[t.name] = names[i];
    });
    const totalSize = tensors.reduce((n, t) => n + t.tensor.data.byteLength, 0);
    const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
    return [...names.map((name) => ({ name, content: fs.readFileSync(path.join(dir, name)) })), { name: 'model.safetensors.index.json', content: Buffer.from(JSON.stringify(index, null, 2)) }];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The repos of `buildFakeHfCache`, by what each shows. */
export const FAKE_REPOS = {
  gpt2: 'locus-test/gpt2-tiny',
  llama: 'locus-test/llama-tiny',
  mistral: 'locus-test/mistral-tiny',
  pickle: 'locus-test/pickle-only',
  bert: 'google-bert/bert-tiny',
  noTokenizer: 'locus-test/no-tokenizer',
  noConfig: 'locus-test/no-config',
  sentencePiece: 'locus-test/sentencepiece-only',
  incomplete: 'locus-test/incomplete',
  sharded: 'locus-test/gpt2-sharded',
  shardMissing: 'locus-test/shard-missing',
  interrupted: 'locus-test/interrupted',
} as const;

/**
 * A cache with one repo per case: openable gpt2 (two revisions, refs/main on the older one), the same
 * weights in two shards, llama and mistral goldens; not openable: a sharded one whose second shard never
 * arrived, a pickle-only repo, a `bert` repo, one without tokenizer, one without config.json, one with
 * only tokenizer.model, one whose weights link to a missing blob beside an `.incomplete` one, one with no
 * snapshot at all; and a dataset repo and a `.locks` folder that are no models.
 */
export function buildFakeHfCache(cacheDir: string): void {
  const gpt2 = goldenFiles('gpt2-tiny-trained', GPT2_FILES);
  const config = gpt2.find((f) => f.name === 'config.json')!;
  const tokenizer = gpt2.filter((f) => ['vocab.json', 'merges.txt', 'tokenizer_config.json'].includes(f.name));
  const weights = gpt2.find((f) => f.name === 'model.safetensors')!;
  // The newer revision (a different config) is written first and is not main: refs/main wins over recency.
  addRevision(cacheDir, FAKE_REPOS.gpt2, revision('gpt2-new'), [{ name: 'config.json', content: Buffer.from('{"model_type": "gpt2"}') }], { main: false });
  addRevision(cacheDir, FAKE_REPOS.gpt2, revision('gpt2-main'), gpt2);
  const newer = path.join(cacheDir, 'models--locus-test--gpt2-tiny', 'snapshots', revision('gpt2-new'));
  fs.utimesSync(newer, new Date(), new Date(Date.now() + 60_000));
  addRevision(cacheDir, FAKE_REPOS.llama, revision('llama'), goldenFiles('llama-tiny-random', LLAMA_FILES));
  addRevision(cacheDir, FAKE_REPOS.mistral, revision('mistral'), goldenFiles('mistral-tiny-random', LLAMA_FILES));
  addRevision(cacheDir, FAKE_REPOS.pickle, revision('pickle'), [config, ...tokenizer, { name: 'pytorch_model.bin', content: Buffer.from('PK\x03\x04 not really a pickle') }]);
  const bertConfig = { name: 'config.json', content: Buffer.from(JSON.stringify({ model_type: 'bert', hidden_size: 64 })) };
  addRevision(cacheDir, FAKE_REPOS.bert, revision('bert'), [bertConfig, weights, ...tokenizer]);
  addRevision(cacheDir, FAKE_REPOS.noTokenizer, revision('notok'), [config, weights]);
  addRevision(cacheDir, FAKE_REPOS.noConfig, revision('noconfig'), [weights, ...tokenizer]);
  addRevision(cacheDir, FAKE_REPOS.sentencePiece, revision('spm'), [config, weights, { name: 'tokenizer.model', content: Buffer.from('\x0a\x05 spm') }]);
  const shards = shardedGpt2Files();
  const gpt2Rest = gpt2.filter((f) => f.name !== 'model.safetensors');
  addRevision(cacheDir, FAKE_REPOS.sharded, revision('sharded'), [...gpt2Rest, ...shards]);
  addRevision(cacheDir, FAKE_REPOS.shardMissing, revision('shard-missing'), [...gpt2Rest, ...shards.map((f) => (f.name.startsWith('model-00002') ? { name: f.name } : f))]);
  addRevision(cacheDir, FAKE_REPOS.incomplete, revision('incomplete'), [config, ...tokenizer, { name: 'model.safetensors' }]);
  fs.writeFileSync(path.join(cacheDir, 'models--locus-test--incomplete', 'blobs', `${'e'.repeat(64)}.incomplete`), Buffer.alloc(1024));
  const interrupted = path.join(cacheDir, 'models--locus-test--interrupted', 'blobs');
  fs.mkdirSync(interrupted, { recursive: true });
  fs.writeFileSync(path.join(interrupted, `${'f'.repeat(64)}.incomplete`), Buffer.alloc(10));
  addRevision(cacheDir, 'locus-test/some-dataset', revision('data'), [config]);
  fs.renameSync(path.join(cacheDir, 'models--locus-test--some-dataset'), path.join(cacheDir, 'datasets--locus-test--some-dataset'));
  fs.mkdirSync(path.join(cacheDir, '.locks', 'models--locus-test--gpt2-tiny'), { recursive: true });
}
