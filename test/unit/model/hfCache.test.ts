/**
 * The Hugging Face cache, offline (issue 16 item 4): where it is (huggingface_hub's precedence), what
 * each cached repo is (family, parameters and dtype from the safetensors headers, size on disk) and why
 * one cannot be opened; `--model org/name` resolving to the snapshot, and loading the same weights as
 * the golden folder. Runs on a fake cache in a temp folder built from the goldens.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isLocusError } from '../../../src/engine/errors';
import { SUPPORTED_MODEL_TYPES } from '../../../src/engine/model/config';
import { hfHubCacheDir, hubFolder, isRepoId, listCachedModels, repoIdOfSnapshot, resolveCachedModel } from '../../../src/engine/model/hfCache';
import type { CachedModel } from '../../../src/engine/model/hfCache';
import { resolveModelFolder } from '../../../src/engine/model/locate';
import { loadModel } from '../../../src/engine/model/model';
import { addRevision, buildFakeHfCache, FAKE_REPOS, GPT2_FILES, goldenFiles, LLAMA_FILES, revision } from '../../helpers/fakeHfCache';
import { golden, tempDir } from '../../helpers/paths';

const root = tempDir('locus-hfcache-');
const cache = path.join(root, 'hub');
const savedEnv = { HF_HUB_CACHE: process.env.HF_HUB_CACHE, HF_HOME: process.env.HF_HOME };
let models: CachedModel[];
const byId = (id: string): CachedModel => {
  const m = models.find((x) => x.repoId === id);
  assert.ok(m, `${id} is listed`);
  return m;
};

/** Parameters and dtypes read straight from a golden's header (8-byte length + JSON), not through the engine. */
function headerFacts(model: string): { parameters: number; dtypes: Set<string> } {
  const buf = fs.readFileSync(golden(model, 'model.safetensors'));
  const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype: string; shape: number[] }>;
  delete header['__metadata__'];
  const entries = Object.values(header);
  return { parameters: entries.reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0), dtypes: new Set(entries.map((e) => e.dtype)) };
}
const bytesOf = (model: string, names: readonly string[]): number => names.reduce((n, f) => n + fs.statSync(golden(model, f)).size, 0);

before(() => {
  buildFakeHfCache(cache);
  models = listCachedModels(cache);
});
after(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  fs.rmSync(root, { recursive: true, force: true });
});

describe('where the cache is', () => {
  const home = os.homedir();
  it('follows huggingface_hub: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub', () => {
    assert.equal(hfHubCacheDir({ HF_HUB_CACHE: '/a/hub', HF_HOME: '/b' }), '/a/hub');
    assert.equal(hfHubCacheDir({ HUGGINGFACE_HUB_CACHE: '/legacy', HF_HOME: '/b' }), '/legacy');
    assert.equal(hfHubCacheDir({ HF_HOME: '/b', XDG_CACHE_HOME: '/x' }), '/b/hub');
    assert.equal(hfHubCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/huggingface/hub');
    assert.equal(hfHubCacheDir({}), path.join(home, '.cache', 'huggingface', 'hub'));
    assert.equal(hfHubCacheDir({ HF_HOME: '~/hf' }), path.join(home, 'hf', 'hub'));
    assert.equal(hfHubCacheDir({ HF_HUB_CACHE: '' }), path.join(home, '.cache', 'huggingface', 'hub'), 'an empty variable is unset');
  });
  it('a folder given as HF_HOME (holding hub/) is taken as its hub folder', () => {
    assert.equal(hubFolder(root), cache);
    assert.equal(hubFolder(cache), cache);
  });
  it('an absent cache lists nothing', () => {
    assert.deepEqual(listCachedModels(path.join(root, 'nowhere')), []);
  });
});

describe('repo ids', () => {
  it('org/name and bare names are repo ids; paths are not', () => {
    for (const id of ['meta-llama/Llama-3.2-1B', 'Qwen/Qwen2.5-0.5B', 'gpt2', 'EleutherAI/pythia-70m']) assert.ok(isRepoId(id), id);
    for (const p of ['./gpt2', '/abs/path', 'a/b/c', '../x', 'a--b/c', 'org/..', '~/models/x', 'C:\\models', '']) assert.ok(!isRepoId(p), p);
  });
  it('a snapshot folder is named by its repo', () => {
    assert.equal(repoIdOfSnapshot(path.join(cache, 'models--Qwen--Qwen2.5-0.5B', 'snapshots', revision('x'))), 'Qwen/Qwen2.5-0.5B');
    assert.equal(repoIdOfSnapshot(golden('gpt2-tiny-trained')), undefined);
  });
});

describe('listing a fake cache', () => {
  it('lists the model repos only (no dataset, no .locks), sorted', () => {
    assert.deepEqual(models.map((m) => m.repoId), Object.values(FAKE_REPOS).sort((a, b) => `models--${a.replace('/', '--')}`.localeCompare(`models--${b.replace('/', '--')}`)));
  });
  it('the gpt2 golden: refs/main snapshot, exact parameters and dtype from the header, size of its files, openable', () => {
    const m = byId(FAKE_REPOS.gpt2);
    const facts = headerFacts('gpt2-tiny-trained');
    assert.equal(m.revision, revision('gpt2-main'), 'refs/main wins over the more recent snapshot');
    assert.equal(m.path, path.join(cache, 'models--locus-test--gpt2-tiny', 'snapshots', revision('gpt2-main')));
    assert.equal(m.modelType, 'gpt2');
    assert.equal(m.familySupported, true);
    assert.equal(m.parameters, facts.parameters);
    assert.equal(m.parameters, 3_482_048);
    assert.equal(m.dtype, 'F32');
    assert.equal(m.sizeBytes, bytesOf('gpt2-tiny-trained', GPT2_FILES));
    assert.equal(m.problem, undefined);
  });
  it('bf16 and f32 storage are reported as stored (mistral, llama goldens)', () => {
    const mistral = byId(FAKE_REPOS.mistral);
    assert.equal(mistral.dtype, 'BF16');
    assert.equal(mistral.parameters, headerFacts('mistral-tiny-random').parameters);
    assert.equal(mistral.sizeBytes, bytesOf('mistral-tiny-random', LLAMA_FILES));
    const llama = byId(FAKE_REPOS.llama);
    assert.equal(llama.dtype, 'F32');
    assert.equal(llama.parameters, headerFacts('llama-tiny-random').parameters);
    // Whether the family opens follows config.ts, whatever families it has today.
    for (const m of [mistral, llama]) {
      const supported = (SUPPORTED_MODEL_TYPES as readonly string[]).includes(m.modelType ?? '');
      assert.equal(m.familySupported, supported);
      assert.equal(m.problem === undefined, supported, `${m.repoId}: ${m.problem?.reason}`);
      if (!supported) assert.match(m.problem?.reason ?? '', new RegExp(`model_type "${m.modelType}" is not supported`));
    }
  });
  it('an unsupported family is named, with its size and parameters still shown', () => {
    const m = byId(FAKE_REPOS.bert);
    assert.equal(m.modelType, 'bert');
    assert.equal(m.familySupported, false);
    assert.equal(m.problem?.code, 'unsupported-architecture');
    assert.match(m.problem?.reason ?? '', /model_type "bert" is not supported \(Locus opens gpt2, gptj/);
    assert.equal(m.parameters, 3_482_048);
  });
  it('a config the family cannot take, or that the weights contradict, is caught before loading', () => {
    const bad = path.join(root, 'bad-hub');
    const files = goldenFiles('gpt2-tiny-trained', GPT2_FILES);
    const withConfig = (edit: (c: Record<string, unknown>) => void) =>
      files.map((f) => {
        if (f.name !== 'config.json') return f;
        const c = JSON.parse(f.content!.toString('utf8')) as Record<string, unknown>;
        edit(c);
        return { name: f.name, content: Buffer.from(JSON.stringify(c)) };
      });
    addRevision(bad, 'org/wide', revision('wide'), withConfig((c) => (c['n_layer'] = 5)));
    addRevision(bad, 'org/relu', revision('relu'), withConfig((c) => (c['activation_function'] = 'relu')));
    const [relu, wide] = listCachedModels(bad);
    assert.equal(wide.problem?.code, 'shape-mismatch');
    assert.match(wide.problem?.reason ?? '', /^config\.json: "n_layer" is 5 but model\.safetensors holds 4 layers/);
    assert.equal(relu.problem?.code, 'bad-config');
    assert.match(relu.problem?.reason ?? '', /^config\.json: activation_function "relu" is not supported/);
    assert.equal(wide.parameters, 3_482_048, 'the header facts are still shown');
  });
  it('pickle only: refused, naming the file', () => {
    const m = byId(FAKE_REPOS.pickle);
    assert.equal(m.familySupported, true);
    assert.equal(m.problem?.code, 'unsupported-format');
    assert.match(m.problem?.reason ?? '', /^pickle weights only \(pytorch_model\.bin\)/);
    assert.equal(m.parameters, undefined);
  });
  it('no config.json', () => {
    const m = byId(FAKE_REPOS.noConfig);
    assert.deepEqual(m.problem, { code: 'not-found', reason: 'no config.json' });
    assert.equal(m.modelType, undefined);
    assert.equal(m.parameters, 3_482_048);
  });
  it('missing tokenizer; a SentencePiece tokenizer.model alone is named as such', () => {
    assert.equal(byId(FAKE_REPOS.noTokenizer).problem?.code, 'missing-tokenizer');
    assert.match(byId(FAKE_REPOS.noTokenizer).problem?.reason ?? '', /^missing tokenizer: no tokenizer\.json, nor vocab\.json \+ merges\.txt$/);
    assert.match(byId(FAKE_REPOS.sentencePiece).problem?.reason ?? '', /only a SentencePiece tokenizer\.model/);
  });
  it('an incomplete download: the weights link to a blob that never arrived', () => {
    const m = byId(FAKE_REPOS.incomplete);
    assert.match(m.problem?.reason ?? '', /^incomplete download: model\.safetensors links to a blob that is not in the cache; fetch it again with `huggingface-cli download locus-test\/incomplete`/);
    assert.equal(m.parameters, undefined);
  });
  it('a sharded checkpoint: parameters summed over the shards; a shard that never arrived is an incomplete download', () => {
    const sharded = byId(FAKE_REPOS.sharded);
    assert.equal(sharded.problem, undefined);
    assert.equal(sharded.parameters, headerFacts('gpt2-tiny-trained').parameters);
    assert.equal(sharded.dtype, 'F32');
    const missing = byId(FAKE_REPOS.shardMissing);
    assert.match(missing.problem?.reason ?? '', /^incomplete download: 1 of 2 shards are not in the cache \(model-00002-of-00002\.safetensors\); fetch it again/);
    assert.equal(missing.parameters, undefined);
  });
  it('an interrupted first download (no snapshot, .incomplete blobs)', () => {
    const m = byId(FAKE_REPOS.interrupted);
    assert.equal(m.path, undefined);
    assert.match(m.problem?.reason ?? '', /^incomplete download: no snapshot yet and 1 unfinished blob/);
  });
  it('listing writes nothing into the cache', () => {
    const snap = (): string[] => fs.readdirSync(cache, { recursive: true }).map(String).sort();
    const beforeList = snap();
    listCachedModels(cache);
    assert.deepEqual(snap(), beforeList);
  });
});

describe('--model org/name', () => {
  before(() => {
    process.env.HF_HUB_CACHE = cache;
  });
  it('resolves to the refs/main snapshot', () => {
    assert.equal(resolveModelFolder(FAKE_REPOS.gpt2), byId(FAKE_REPOS.gpt2).path);
  });
  it('a model not in the cache: not-found, naming the cache and how to fetch it', () => {
    assert.throws(() => resolveModelFolder('meta-llama/Llama-3.2-1B'), (e: unknown) => {
      assert.ok(isLocusError(e));
      assert.equal(e.code, 'not-found');
      assert.equal(
        e.message,
        `meta-llama/Llama-3.2-1B is not a folder, nor a model in the Hugging Face cache at ${cache}; Locus never downloads: fetch it with \`huggingface-cli download meta-llama/Llama-3.2-1B\` on a machine with internet, or give a folder`,
      );
      return true;
    });
  });
  it('a cached model that cannot be opened says why, with the reason code', () => {
    const cases: Array<[string, string, RegExp]> = [
      [FAKE_REPOS.bert, 'unsupported-architecture', /google-bert\/bert-tiny is in the Hugging Face cache \(.*\) but cannot be opened: model_type "bert" is not supported/],
      [FAKE_REPOS.pickle, 'unsupported-format', /cannot be opened: pickle weights only/],
      [FAKE_REPOS.noTokenizer, 'missing-tokenizer', /cannot be opened: missing tokenizer/],
      [FAKE_REPOS.incomplete, 'not-found', /cannot be opened: incomplete download/],
    ];
    for (const [id, code, message] of cases) {
      assert.throws(() => resolveCachedModel(id, cache), (e: unknown) => isLocusError(e) && e.code === code && message.test(e.message) && !e.message.includes('\n'));
    }
  });
  it('an existing relative folder still wins over the cache; a bare name not cached is still a missing folder', () => {
    const cwd = process.cwd();
    process.chdir(path.dirname(golden('gpt2-tiny-trained')));
    try {
      assert.equal(resolveModelFolder('gpt2-tiny-trained'), golden('gpt2-tiny-trained'));
      assert.throws(() => resolveModelFolder('no-such-model'), /model folder .*no-such-model does not exist/);
    } finally {
      process.chdir(cwd);
    }
  });
  it('a bare name (the hub\'s un-namespaced repos, e.g. gpt2) resolves through the cache when it is cached', () => {
    const bare = path.join(root, 'bare-hub');
    const snapshot = addRevision(bare, 'tiny-bare', revision('bare'), goldenFiles('gpt2-tiny-trained', GPT2_FILES));
    process.env.HF_HUB_CACHE = bare;
    const cwd = process.cwd();
    process.chdir(root);
    try {
      assert.equal(resolveModelFolder('tiny-bare'), snapshot);
      assert.equal(listCachedModels(bare)[0].repoId, 'tiny-bare');
      assert.equal(repoIdOfSnapshot(snapshot), 'tiny-bare');
    } finally {
      process.chdir(cwd);
      process.env.HF_HUB_CACHE = cache;
    }
  });
  it('loads the same weights as the golden folder, named by its repo id', async () => {
    const fromCache = await loadModel(FAKE_REPOS.gpt2);
    const fromFolder = await loadModel(golden('gpt2-tiny-trained'));
    try {
      assert.equal(fromCache.manifest.fingerprint, fromFolder.manifest.fingerprint);
      assert.equal(fromCache.manifest.parameters, 3_482_048);
      assert.equal(fromCache.manifest.path, byId(FAKE_REPOS.gpt2).path);
      assert.equal(fromCache.manifest.name, FAKE_REPOS.gpt2);
      assert.deepEqual(fromCache.tokenizer.encode(' Space Needle').ids, fromFolder.tokenizer.encode(' Space Needle').ids);
    } finally {
      await fromCache.dispose();
      await fromFolder.dispose();
    }
  });
});
