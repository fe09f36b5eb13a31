/**
 * Guarantee (issue 16 item 4): models in the Hugging Face cache open by repo id, offline. `--model
 * org/name` loads the refs/main snapshot and answers what the golden folder answers (top-20 log-probs
 * within the goldens' 1e-4); a repo that is not cached, or cached but not openable (unsupported family,
 * pickle only, no tokenizer, an unfinished download), is exit 2 with one line naming the reason;
 * `locus models` lists the cache; the worker lists it too and loads `org/name`. Nothing in the cache is
 * written, and the real ~/.cache/huggingface is never read: HOME points at an empty temp folder.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { SUPPORTED_MODEL_TYPES } from '../../src/engine/model/config';
import type { CachedModelsDto } from '../../src/protocol/dto';
import type { EngineError } from '../../src/extension/workerClient';
import { buildFakeHfCache, FAKE_REPOS } from '../helpers/fakeHfCache';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import { golden, tempDir } from '../helpers/paths';
import { checkRun, digest, guaranteeRows, runCli } from './harness';

const root = tempDir('locus-hfcache-g-');
const hfHome = path.join(root, 'hf-home');
const cache = path.join(hfHome, 'hub');
const home = path.join(root, 'home');
fs.mkdirSync(home);
buildFakeHfCache(cache);
const cacheDigest = digest(cache);
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** The environment without the user's own cache settings; HOME is empty, so the default cache is absent. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, USERPROFILE: home };
  for (const k of ['HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HOME', 'XDG_CACHE_HOME']) delete env[k];
  return { ...env, ...extra };
}
const withCache = (): NodeJS.ProcessEnv => cleanEnv({ HF_HUB_CACHE: cache });
const probe = (model: string, ...more: string[]): string[] => ['probe', '--model', model, '--prompt', 'The Space Needle is located in the city of', '--threads', '1', ...more];

guaranteeRows([
  {
    name: 'a model that is not cached: exit 2, naming the cache and how to fetch it (never downloads)',
    argv: probe('meta-llama/Llama-3.2-1B'),
    env: withCache,
    exit: 2,
    message: /meta-llama\/Llama-3\.2-1B is not a folder, nor a model in the Hugging Face cache at .*hf-home\/hub; Locus never downloads: fetch it with `huggingface-cli download meta-llama\/Llama-3\.2-1B` on a machine with internet, or give a folder/,
  },
  {
    name: 'no cache at all (HOME empty, no HF variables): the default cache is named',
    argv: probe('Qwen/Qwen2.5-0.5B'),
    env: () => cleanEnv({}),
    exit: 2,
    message: new RegExp(`Qwen/Qwen2\\.5-0\\.5B is not a folder, nor a model in the Hugging Face cache at ${home.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/\\.cache/huggingface/hub;`),
  },
  { name: 'an unsupported family is named', argv: probe(FAKE_REPOS.bert), env: withCache, exit: 2, message: /google-bert\/bert-tiny is in the Hugging Face cache \(.*\) but cannot be opened: model_type "bert" is not supported/ },
  { name: 'pickle-only weights are refused, naming the file', argv: probe(FAKE_REPOS.pickle), env: withCache, exit: 2, message: /cannot be opened: pickle weights only \(pytorch_model\.bin\)/ },
  { name: 'a missing config.json is named', argv: probe(FAKE_REPOS.noConfig), env: withCache, exit: 2, message: /locus-test\/no-config is in the Hugging Face cache \(.*\) but cannot be opened: no config\.json$/m },
  { name: 'a missing tokenizer is named', argv: probe(FAKE_REPOS.noTokenizer), env: withCache, exit: 2, message: /cannot be opened: missing tokenizer: no tokenizer\.json, nor vocab\.json \+ merges\.txt/ },
  { name: 'an unfinished download says so and how to finish it', argv: probe(FAKE_REPOS.incomplete), env: withCache, exit: 2, message: /cannot be opened: incomplete download: model\.safetensors links to a blob that is not in the cache; fetch it again with `huggingface-cli download locus-test\/incomplete`/ },
  { name: 'a sharded checkpoint whose second shard never arrived', argv: probe(FAKE_REPOS.shardMissing), env: withCache, exit: 2, message: /cannot be opened: incomplete download: 1 of 2 shards are not in the cache \(model-00002-of-00002\.safetensors\)/ },
  { name: 'a repo with no snapshot (interrupted first download)', argv: probe(FAKE_REPOS.interrupted), env: withCache, exit: 2, message: /cannot be opened: incomplete download: no snapshot yet/ },
]);

test('HF_HUB_CACHE set to a file: exit 2, one line', async () => {
  const file = path.join(root, 'a-file');
  fs.writeFileSync(file, 'x');
  checkRun({ exit: 2, message: /^locus models: the Hugging Face cache .*a-file is a file, not a folder \(HF_HUB_CACHE, HF_HOME\)$/m }, await runCli(['models'], { env: cleanEnv({ HF_HUB_CACHE: file }) }));
});

/** The golden's reference top-20 (ids, log-softmax) for its first prompt. */
function goldenTop(model: string): { prompt: string; ids: number[]; logprobs: number[] } {
  const f = JSON.parse(fs.readFileSync(golden(model, 'forward.json'), 'utf8')) as { prompts: Array<{ prompt: string; top20: { ids: number[]; logprobs: number[] } }> };
  return { prompt: f.prompts[0].prompt, ...f.prompts[0].top20 };
}

const OPENED: Array<[string, string, string]> = [
  [FAKE_REPOS.gpt2, 'gpt2-tiny-trained', 'gpt2'],
  [FAKE_REPOS.sharded, 'gpt2-tiny-trained', 'gpt2'],
  [FAKE_REPOS.llama, 'llama-tiny-random', 'llama'],
  [FAKE_REPOS.mistral, 'mistral-tiny-random', 'mistral'],
];
for (const [repo, model, family] of OPENED) {
  const supported = (SUPPORTED_MODEL_TYPES as readonly string[]).includes(family);
  test(`--model ${repo} opens the cached ${model}: top-20 log-probs as the golden's within 1e-4`, { skip: supported ? false : `${family} is not supported yet` }, async (t) => {
    const ref = goldenTop(model);
    const r = await runCli(['probe', '--model', repo, '--prompt', ref.prompt, '--top', '20', '--threads', '1', '--json'], { env: withCache() });
    checkRun({ exit: 0 }, r);
    const out = JSON.parse(r.stdout) as { model: { name: string; path: string }; top: Array<{ id: number; logprob: number }> };
    assert.equal(out.model.name, repo, 'named by its repo, not by the commit hash');
    assert.ok(out.model.path.startsWith(path.join(cache, `models--${repo.replace('/', '--')}`, 'snapshots')), out.model.path);
    let worst = 0;
    ref.ids.forEach((id, i) => {
      const got = out.top.find((t) => t.id === id);
      assert.ok(got, `token ${id} (reference rank ${i}) is in Locus's top 20`);
      worst = Math.max(worst, Math.abs(got.logprob - ref.logprobs[i]));
    });
    t.diagnostic(`max |Δ logprob| over the top 20: ${worst.toExponential(2)}`);
    assert.ok(worst <= 1e-4, `max |Δ logprob| ${worst}`);
  });
}

test('HF_HOME (no HF_HUB_CACHE) finds the cache in HF_HOME/hub', async () => {
  const r = await runCli([...probe(FAKE_REPOS.gpt2), '--top', '1', '--json'], { env: cleanEnv({ HF_HOME: hfHome }) });
  checkRun({ exit: 0 }, r);
  assert.equal((JSON.parse(r.stdout) as { top: Array<{ token: string }> }).top[0].token, ' Sydney');
});

test('locus models --json lists every model repo with family, parameters, dtype, size and the reason', async () => {
  const r = await runCli(['models', '--json'], { env: withCache() });
  checkRun({ exit: 0 }, r);
  const out = JSON.parse(r.stdout) as CachedModelsDto;
  assert.equal(out.cacheDir, cache);
  assert.deepEqual(out.models.map((m) => m.repoId).sort(), Object.values(FAKE_REPOS).sort());
  const gpt2 = out.models.find((m) => m.repoId === FAKE_REPOS.gpt2);
  assert.deepEqual(
    { modelType: gpt2?.modelType, familySupported: gpt2?.familySupported, parameters: gpt2?.parameters, dtype: gpt2?.dtype, problem: gpt2?.problem },
    { modelType: 'gpt2', familySupported: true, parameters: 3_482_048, dtype: 'F32', problem: undefined },
  );
  assert.equal(out.models.find((m) => m.repoId === FAKE_REPOS.mistral)?.dtype, 'BF16');
  assert.deepEqual(out.models.find((m) => m.repoId === FAKE_REPOS.bert)?.problem?.code, 'unsupported-architecture');
  assert.deepEqual(out.models.find((m) => m.repoId === FAKE_REPOS.pickle)?.problem?.code, 'unsupported-format');
  assert.deepEqual(out.models.find((m) => m.repoId === FAKE_REPOS.noTokenizer)?.problem?.code, 'missing-tokenizer');
});

test('locus models prints a table; --hf-cache takes an HF_HOME folder too', async () => {
  const r = await runCli(['models', '--hf-cache', hfHome], { env: cleanEnv({}) });
  checkRun({ exit: 0 }, r);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], new RegExp(`^Hugging Face cache .*hf-home/hub: ${Object.keys(FAKE_REPOS).length} model\\(s\\), \\d+ Locus can open`));
  assert.match(lines[1], /^REPO\s+FAMILY\s+OPENS\s+PARAMS\s+DTYPE\s+SIZE\s+WHY NOT$/);
  assert.match(r.stdout, /\nlocus-test\/gpt2-tiny\s+gpt2\s+yes\s+3\.5M\s+F32\s+14\.6 MiB\n/);
  assert.match(r.stdout, /\ngoogle-bert\/bert-tiny\s+bert\s+no\s+3\.5M\s+F32\s+14\.6 MiB\s+model_type "bert" is not supported/);
  const empty = await runCli(['models'], { env: cleanEnv({}) });
  assert.match(empty.stdout, /^no models in the Hugging Face cache at .*home\/\.cache\/huggingface\/hub; Locus never downloads/);
});

test('the worker lists the cache (model/cached) and loads org/name (model/load)', async () => {
  const saved = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = cache;
  const worker = inMemoryWorker();
  try {
    const listed = await worker.send('model/cached', {});
    assert.equal(listed.cacheDir, cache);
    assert.equal(listed.models.length, Object.keys(FAKE_REPOS).length);
    assert.equal((await worker.send('model/cached', { cacheDir: hfHome })).cacheDir, cache, 'an HF_HOME is taken as its hub/');
    const info = await worker.send('model/load', { model: FAKE_REPOS.gpt2, threads: 1 });
    assert.equal(info.name, FAKE_REPOS.gpt2);
    assert.equal(info.parameters, 3_482_048);
    const picked = listed.models.find((m) => m.repoId === FAKE_REPOS.gpt2);
    assert.equal(info.path, picked?.path, 'the same snapshot the picker would load by path');
    await assert.rejects(worker.send('model/load', { model: FAKE_REPOS.pickle, threads: 1 }), (e: EngineError) => e.code === 'unsupported-format' && /pickle weights only/.test(e.message));
    assert.equal((await worker.send('model/info', {}))?.name, FAKE_REPOS.gpt2, 'a refused model leaves the loaded one');
    await assert.rejects(worker.send('model/cached', { cacheDir: 7 } as never), (e: EngineError) => e.code === 'bad-input');
  } finally {
    await worker.dispose();
    if (saved === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = saved;
  }
});

test('edit --save from a cached model writes plain files (no links into the cache) that load on their own', async () => {
  const out = path.join(root, 'edited');
  const request = golden('gpt2-tiny-trained', 'rome_space_needle.request.json');
  checkRun({ exit: 0 }, await runCli(['edit', '--model', FAKE_REPOS.gpt2, '--method', 'ft', '--layer', '1', '--request', request, '--threads', '1', '--save', out], { env: withCache() }));
  for (const f of fs.readdirSync(out)) assert.ok(fs.lstatSync(path.join(out, f)).isFile(), `${f} is a plain file`);
  // Loaded with no cache at all: nothing in the export points back into it.
  const r = await runCli(['probe', '--model', out, '--prompt', 'The Space Needle is located in the city of', '--top', '1', '--json'], { env: cleanEnv({}) });
  checkRun({ exit: 0 }, r);
});

test('nothing in the cache was written', () => {
  assert.equal(digest(cache), cacheDigest);
});
