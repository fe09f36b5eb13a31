/**
 * Guarantee (issue 15): the worker — what the extension's panels, commands and scripts talk to —
 * reaches the same engine checks as the CLI. Every bad request gets a JSON-RPC error whose data.code
 * is the LocusError's code (never 'internal') and whose message is one line without a stack; the
 * worker keeps answering with its model and edits intact, and the model's files are never written.
 *
 * Rows: { method, params, code, message }. They run in order on one in-memory worker (the real
 * protocol, no process) holding a writable copy of the golden gpt2-tiny-trained model.
 */
import * as assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource, createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { LocusError, lockFolder, MAX_SEED } from '../../src/engine/index';
import type { EngineError } from '../../src/extension/workerClient';
import { sendEngineRequest } from '../../src/extension/workerClient';
import { ENGINE_ERROR_CODES } from '../../src/protocol/engine';
import type { EngineErrorData, EngineMethod, EngineParams } from '../../src/protocol/engine';
import { toResponseError } from '../../src/worker/serve';
import { digest } from '../guarantees/harness';
import { inMemoryWorker } from '../helpers/inMemoryWorker';
import type { InMemoryWorker } from '../helpers/inMemoryWorker';
import { golden, repoRoot, tempDir } from '../helpers/paths';

const tmp = tempDir('locus-worker-guarantee-');
// Readable by "nobody" (the unprivileged worker below); writable only by us.
fs.chmodSync(tmp, 0o755);
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const at = (...p: string[]): string => path.join(tmp, ...p);

/** A writable copy of `name` at tmp/dir (a bug that writes into a model folder must change its digest). */
function copyModel(name: string, dir: string): string {
  fs.cpSync(golden(name), at(dir), { recursive: true });
  fs.chmodSync(at(dir), 0o755);
  for (const f of fs.readdirSync(at(dir))) fs.chmodSync(at(dir, f), 0o644);
  return at(dir);
}

const model = copyModel('gpt2-tiny-trained', 'model');
const modelDigest = digest(model);

// --- damaged model folders (model/load) -----------------------------------------------------------

/** Writes NaN into `count` float32 elements of `tensor`, spread over it, in place. */
function poison(dir: string, tensor: string, count: number): void {
  const file = path.join(dir, 'model.safetensors');
  const bytes = fs.readFileSync(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const entry = (JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { data_offsets: [number, number] }>)[tensor];
  const n = (entry.data_offsets[1] - entry.data_offsets[0]) / 4;
  for (let k = 0; k < count; k++) bytes.writeFloatLE(NaN, 8 + headerLen + entry.data_offsets[0] + 4 * Math.floor((k * n) / count));
  fs.writeFileSync(file, bytes);
}

const nanModel = copyModel('gpt2-tiny-trained', 'nan-model');
poison(nanModel, 'transformer.h.0.mlp.c_fc.weight', 12);
const wideModel = copyModel('gpt2-tiny-trained', 'wide-model');
fs.writeFileSync(path.join(wideModel, 'config.json'), JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(wideModel, 'config.json'), 'utf8')), n_layer: 5 }));
const loopModel = copyModel('gpt2-tiny-trained', 'loop-model');
fs.rmSync(path.join(loopModel, 'model.safetensors'));
fs.symlinkSync('model.safetensors', path.join(loopModel, 'model.safetensors'));
const dirWeights = copyModel('gpt2-tiny-trained', 'dir-weights');
fs.rmSync(path.join(dirWeights, 'config.json'));
fs.mkdirSync(path.join(dirWeights, 'config.json'));

// --- write targets (edit/export, study/run) ---------------------------------------------------------

const aFile = at('a-file.txt');
fs.writeFileSync(aFile, 'not a folder\n');
fs.mkdirSync(at('full'));
fs.writeFileSync(at('full', 'keep.txt'), 'mine\n');
const notJson = at('not-json.json');
fs.writeFileSync(notJson, '[{"case_id": 1,');

const needle = {
  prompt: '{} is located in the city of', subject: 'The Space Needle', target_new: { str: 'Rome' }, target_true: { str: 'Seattle' },
};
const prompt = 'The Space Needle is located in the city of';
const subject = 'The Space Needle';
const trace = (extra: Record<string, unknown>): EngineParams<'trace/run'> => ({ prompt, subject, kinds: ['hidden'], samples: 2, ...extra }) as EngineParams<'trace/run'>;
const edit = (extra: Record<string, unknown>): EngineParams<'edit/run'> => ({ method: 'rome', cases: [needle], ...extra }) as EngineParams<'edit/run'>;
/** ROME without second-moment statistics: no corpus to read, so a row gets to the optimisation in seconds. */
const noStats = { mom2_adjustment: false };
const study = (extra: Record<string, unknown>): EngineParams<'study/run'> =>
  ({ dir: at('study'), cases: '20952', methods: ['ft'], layers: [0], cacheDir: at('stats'), ...extra }) as EngineParams<'study/run'>;

interface Row {
  readonly name: string;
  readonly method: EngineMethod;
  readonly params: unknown;
  /** The LocusError code in data.code. */
  readonly code: string;
  readonly message: RegExp;
  /** The row frees the worker's model (a load that failed past the folder checks): reload it afterwards. */
  readonly dropsModel?: boolean;
  /** Paths that must not exist afterwards. */
  readonly absent?: readonly string[];
  /** Paths whose digest must be the same afterwards. */
  readonly unchanged?: readonly string[];
}

const rows: Row[] = [
  // Trace: the engine's limits, reached through the worker (issue 15 items 3, 5, 7).
  { name: 'trace samples 100000000 would not fit in memory', method: 'trace/run', params: trace({ samples: 100000000 }), code: 'bad-input', message: /^samples 100000000 would need about [\d.]+ GiB .*: use at most \d+ samples$/ },
  { name: 'trace seed 99999999999 is outside NumPy\'s range', method: 'trace/run', params: trace({ seed: 99999999999 }), code: 'bad-input', message: new RegExp(`^seed must be an integer from 0 to ${MAX_SEED} .*got 99999999999\\)$`) },
  { name: 'trace noise 1e300 overflows float32', method: 'trace/run', params: trace({ noise: 1e300 }), code: 'non-finite', message: /subject noise .*σ overflows float32; use s3 or a smaller number/ },
  { name: 'trace noise s1000000000000000000000000000000000000000 overflows too', method: 'trace/run', params: trace({ noise: `s1${'0'.repeat(39)}` }), code: 'non-finite', message: /σ overflows float32/ },
  { name: 'trace with a negative window', method: 'trace/run', params: trace({ kinds: ['mlp'], window: -3 }), code: 'bad-input', message: /^window must be a positive integer \(got -3\)$/ },
  { name: 'trace with a fractional sample count', method: 'trace/run', params: trace({ samples: 2.5 }), code: 'bad-input', message: /^samples must be a positive integer \(got 2\.5\)$/ },
  { name: 'trace with a negative noise', method: 'trace/run', params: trace({ noise: -1 }), code: 'bad-input', message: /^noise must be ≥ 0 \(got -1\)$/ },
  { name: 'trace with an unknown noise rule', method: 'trace/run', params: trace({ noise: 'loud' }), code: 'bad-input', message: /^noise rule "loud" is not understood: use s3/ },
  // A form may send strings for numbers; JSON cannot carry NaN or Infinity (they arrive as null = absent).
  { name: 'trace samples as a string', method: 'trace/run', params: trace({ samples: '5' }), code: 'bad-input', message: /^samples must be a number \(got "5"\)$/ },
  { name: 'trace seed as a string', method: 'trace/run', params: trace({ seed: 'NaN' }), code: 'bad-input', message: /^seed must be a number \(got "NaN"\)$/ },
  { name: 'trace window as a string "Infinity"', method: 'trace/run', params: trace({ window: 'Infinity' }), code: 'bad-input', message: /^window must be a number \(got "Infinity"\)$/ },
  { name: 'trace noise as an object', method: 'trace/run', params: trace({ noise: { sigma: 3 } }), code: 'bad-input', message: /^noise must be a number \(got \{"sigma":3\}\)$/ },
  { name: 'trace kinds as a string', method: 'trace/run', params: trace({ kinds: 'hidden' }), code: 'bad-input', message: /^kinds must be a non-empty list of hidden, mlp, attn \(got "hidden"\)$/ },
  { name: 'trace kinds with an unknown kind', method: 'trace/run', params: trace({ kinds: ['hidden', 'heads'] }), code: 'bad-input', message: /^kinds: "heads" is not one of hidden, mlp, attn$/ },
  { name: 'trace score unknown', method: 'trace/run', params: trace({ score: 'best' }), code: 'bad-input', message: /^score must be one of first-token, sequence \(got "best"\)$/ },
  { name: 'trace noiseSubjects as a string', method: 'trace/run', params: trace({ noiseSubjects: 'Paris' }), code: 'bad-input', message: /^noiseSubjects must be a non-empty list of strings/ },
  { name: 'trace target as a number', method: 'trace/run', params: trace({ target: 7 }), code: 'bad-input', message: /^target must be a string \(got 7\)$/ },
  { name: 'trace prompt missing', method: 'trace/run', params: { subject }, code: 'bad-input', message: /^prompt must be a string \(got undefined\)$/ },
  { name: 'trace maxRows 1e9', method: 'trace/run', params: trace({ maxRows: 1e9 }), code: 'bad-input', message: /^maxRows must be an integer in 1\.\.1000 \(got 1000000000\)$/ },
  // Probe and generate.
  { name: 'probe k 0', method: 'probe/run', params: { prompt, k: 0 }, code: 'bad-input', message: /^k must be an integer in 1\.\.\d+ \(got 0\)$/ },
  { name: 'probe k as a string', method: 'probe/run', params: { prompt, k: '3' }, code: 'bad-input', message: /^k must be an integer in 1\.\.\d+ \(got "3"\)$/ },
  { name: 'generate 100000 tokens', method: 'generate/run', params: { prompt, maxNewTokens: 100000 }, code: 'bad-input', message: /^maxNewTokens must be an integer in 1\.\.\d+ \(got 100000\)$/ },
  // Edit (items 5, 8): the engine's request and hparams checks, before any optimisation.
  { name: 'edit with target_new equal to target_true', method: 'edit/run', params: edit({ method: 'ft', cases: [{ ...needle, target_new: { str: ' Seattle ' } }] }), code: 'bad-config', message: /^request 0: target_new "Seattle" is the same as target_true: nothing to edit; give a different target_new$/ },
  { name: 'edit with v_num_grad_steps -5', method: 'edit/run', params: edit({ hparams: { ...noStats, v_num_grad_steps: -5 } }), code: 'bad-config', message: /^hparams: "v_num_grad_steps" must be a positive integer \(got -5\)$/ },
  { name: 'edit with v_lr "0.5" (a string)', method: 'edit/run', params: edit({ hparams: { ...noStats, v_lr: '0.5' } }), code: 'bad-config', message: /"v_lr" must be a finite number > 0 \(got "0\.5"\)$/ },
  { name: 'edit with hparams that are a list', method: 'edit/run', params: edit({ hparams: [{ v_lr: 0.5 }] }), code: 'bad-input', message: /^hparams must be a JSON object \(got \[\{"v_lr":0\.5\}\]\)$/ },
  { name: 'edit with v_lr 1e308 diverges: non-finite, nothing applied', method: 'edit/run', params: edit({ hparams: { ...noStats, v_lr: 1e308 } }), code: 'non-finite', message: /ΔW of blocks\.\d+\.mlp\.W_out.*the optimisation diverged; lower the learning rate/ },
  { name: 'edit at layer 99', method: 'edit/run', params: edit({ method: 'ft', layer: 99 }), code: 'bad-input', message: /^layer must be an integer in 0\.\.3 \(got 99\)$/ },
  { name: 'edit at layer "1" (a string)', method: 'edit/run', params: edit({ method: 'ft', layer: '1' }), code: 'bad-input', message: /^layer must be an integer in 0\.\.3 \(got "1"\)$/ },
  { name: 'edit with hparams layers outside the model', method: 'edit/run', params: edit({ hparams: { ...noStats, layers: [7] } }), code: 'bad-config', message: /"layers" holds 7, outside this model's blocks 0\.\.3/ },
  { name: 'edit with seed 2^40', method: 'edit/run', params: edit({ method: 'ft', seed: 2 ** 40 }), code: 'bad-input', message: /^seed must be an integer from 0 to 4294967295 \(got 1099511627776\)$/ },
  { name: 'edit with editingNoise 1e300', method: 'edit/run', params: edit({ method: 'ft', editingNoise: 1e300 }), code: 'bad-input', message: /^editingNoise must be a number from 0 to \d+ \(got 1e\+300\)$/ },
  { name: 'edit with empty context templates', method: 'edit/run', params: edit({ contextTemplates: [] }), code: 'bad-config', message: /context templates must be a non-empty list of context templates/ },
  { name: 'edit with caseIds as a string', method: 'edit/run', params: { method: 'ft', caseIds: '20952' }, code: 'bad-input', message: /^caseIds must be a non-empty list of case_id numbers \(got "20952"\)$/ },
  { name: 'edit with a case that is not an object', method: 'edit/run', params: { method: 'ft', cases: ['The Space Needle'] }, code: 'bad-input', message: /^each case needs a prompt with \{\} where the subject goes$/ },
  { name: 'edit with paraphrase_prompts as a string', method: 'edit/run', params: edit({ method: 'ft', cases: [{ ...needle, paraphrase_prompts: 'Where is it?' }] }), code: 'bad-config', message: /request 0: .*paraphrase_prompts/ },
  { name: 'edit with details "yes"', method: 'edit/run', params: edit({ method: 'ft', details: 'yes' }), code: 'bad-input', message: /^details must be true or false \(got "yes"\)$/ },
  { name: 'sweep with caseId as a string', method: 'sweep/run', params: { caseId: '7', methods: ['ft'] }, code: 'bad-input', message: /^caseId must be an integer ≥ 0 \(got "7"\)$/ },
  { name: 'sweep with hparams as a string', method: 'sweep/run', params: { case: needle, methods: ['ft'], hparams: '{"lr": 1}' }, code: 'bad-input', message: /^hparams must be a JSON object/ },
  { name: 'edit with an unknown method', method: 'edit/run', params: edit({ method: 'lora' }), code: 'bad-input', message: /^method must be one of rome(, [a-z0-9]+)*, ft5(, [a-z0-9]+)*$/ },
  // Study (items 2, 6, 7).
  { name: 'study out that is a file', method: 'study/run', params: study({ dir: aFile }), code: 'bad-input', message: /^study folder .*a-file\.txt is a file/ },
  { name: 'study out under a file', method: 'study/run', params: study({ dir: path.join(aFile, 'run') }), code: 'io', message: /^study folder .*a-file\.txt\/run: a part of the path is a file, not a folder$/ },
  { name: 'study out inside the model folder', method: 'study/run', params: study({ dir: path.join(model, 'runs') }), code: 'bad-input', message: /^study folder .* is inside the model folder .*: Locus never writes there/, absent: [path.join(model, 'runs')] },
  { name: 'study out under /proc', method: 'study/run', params: study({ dir: '/proc/locus-study' }), code: 'bad-input', message: /is under \/proc, a system folder/ },
  { name: 'study seed -1', method: 'study/run', params: study({ seed: -1 }), code: 'bad-input', message: /^seed must be an integer in 0\.\.4294967295 \(got -1\)$/ },
  { name: 'study cases that are no case list', method: 'study/run', params: study({ cases: 'all of them' }), code: 'bad-input', message: /^cases "all of them": .*use case_ids and ranges/ },
  { name: 'study layer 9', method: 'study/run', params: study({ layers: [9] }), code: 'bad-input', message: /^layers\[0\] must be an integer in 0\.\.3 \(got 9\)$/ },
  { name: 'study methods empty', method: 'study/run', params: study({ methods: [] }), code: 'bad-input', message: /^methods must be a non-empty list/ },
  { name: 'study analyze of a folder that is no study', method: 'study/analyze', params: { dir: at('full') }, code: 'not-found', message: /full is not a study folder \(no manifest\.json\)$/ },
  // Dataset.
  { name: 'dataset that is not JSON', method: 'dataset/load', params: { path: notJson }, code: 'bad-config', message: /not-json\.json is not valid JSON .*expected a JSON array of CounterFact records/ },
  { name: 'dataset that is a folder', method: 'dataset/load', params: { path: at('full') }, code: 'not-found', message: /full is a folder; the dataset takes a CounterFact JSON \(or JSON lines\) file$/ },
  // Loading (items 3, 5, 10): refused by name; the checks on the folder keep the model the worker holds.
  { name: 'model/load of a folder whose config has more layers than the weights', method: 'model/load', params: { model: wideModel, threads: 1 }, code: 'shape-mismatch', message: /config\.json: "n_layer" is 5 but model\.safetensors holds 4 layers \(0 to 3\)/, unchanged: [wideModel] },
  { name: 'model/load of a folder whose config.json is a folder', method: 'model/load', params: { model: dirWeights, threads: 1 }, code: 'io', message: /config\.json is a folder, expected a file/ },
  { name: 'model/load with threads "4" (a string)', method: 'model/load', params: { model, threads: '4' }, code: 'bad-input', message: /^threads must be an integer in 1\.\.256 \(got "4"\)$/ },
  { name: 'model/load with allowNonFinite "yes"', method: 'model/load', params: { model, allowNonFinite: 'yes' }, code: 'bad-input', message: /^allowNonFinite must be true or false \(got "yes"\)$/ },
  { name: 'model/load on an unknown device', method: 'model/load', params: { model, device: 'tpu' }, code: 'bad-input', message: /^device: "tpu" is not one of cpu, webgpu, cuda$/ },
  { name: 'model/load of a folder that does not exist', method: 'model/load', params: { model: at('no-such-model') }, code: 'not-found', message: /^model folder .*no-such-model does not exist$/ },
  { name: 'model/load of a folder without config.json', method: 'model/load', params: { model: at('full') }, code: 'not-found', message: /full has no config\.json: is it a Hugging Face model folder\?$/ },
  { name: 'edit/revert of an id that is not applied', method: 'edit/revert', params: { id: 'e9' }, code: 'not-found', message: /^no applied edit has id "e9"$/ },
  // Past the folder checks the old model is freed first (two models may not fit), so these drop it.
  { name: 'model/load of NaN weights names the tensor and the setting', method: 'model/load', params: { model: nanModel, threads: 1 }, code: 'non-finite', message: /c_fc\.weight has 12 NaN\/Inf of 16,384; set locus\.allowNonFinite to load anyway$/, dropsModel: true, unchanged: [nanModel] },
  { name: 'model/load of weights that are a symbolic link loop', method: 'model/load', params: { model: loopModel, threads: 1 }, code: 'io', message: /model\.safetensors: a symbolic link loop/ },
];

/** The assertions every failure shares: the code, one line, no stack, no "bug". */
function assertUserError(e: unknown, row: Pick<Row, 'code' | 'message'>): true {
  const err = e as EngineError;
  assert.equal(err.name, 'EngineError', String(e));
  assert.equal(err.code, row.code, `code of: ${err.message}`);
  assert.doesNotMatch(err.message, /\n/, 'one line');
  assert.doesNotMatch(err.message, /\bbug\b|internal error|^\s+at /im);
  assert.equal(err.workerStack, undefined, 'a user error carries no stack');
  assert.match(err.message, row.message);
  return true;
}

describe('the worker reaches the engine checks: one line and a LocusError code for every bad request', () => {
  let worker: InMemoryWorker;
  let fingerprint: string;

  before(async () => {
    worker = inMemoryWorker();
    fingerprint = (await worker.send('model/load', { model, threads: 1 })).fingerprint;
  });
  after(async () => {
    await worker.dispose();
    assert.equal(digest(model), modelDigest, 'the model folder was never written');
  });

  for (const row of rows) {
    test(row.name, async () => {
      const digests = (row.unchanged ?? []).map(digest);
      let info;
      try {
        await assert.rejects(worker.send(row.method, row.params as never), (e) => assertUserError(e, row));
      } finally {
        // A row that fails must not fail the rows after it: they get the model back.
        info = await worker.send('model/info', {});
        if (info === null) await worker.send('model/load', { model, threads: 1 });
      }
      if (row.dropsModel) assert.equal(info, null, 'the old model was freed before the failed load');
      else assert.equal(info?.fingerprint, fingerprint, 'the worker still holds its model');
      assert.deepEqual((await worker.send('edit/list', {})).edits, [], 'no edit was left applied');
      assert.deepEqual((row.unchanged ?? []).map(digest), digests, 'unchanged files');
      for (const p of row.absent ?? []) assert.ok(!fs.existsSync(p), `${p} was not created`);
      assert.equal(digest(model), modelDigest, 'the model folder is unchanged');
    });
  }

  test('allowNonFinite loads NaN weights with a warning naming the setting', async () => {
    try {
      const info = await worker.send('model/load', { model: nanModel, threads: 1, allowNonFinite: true });
      assert.equal(info.warnings.length, 1, info.warnings.join('\n'));
      assert.match(info.warnings[0], /c_fc\.weight has 12 NaN\/Inf of 16,384; loaded anyway \(locus\.allowNonFinite\): results may be NaN$/);
    } finally {
      fingerprint = (await worker.send('model/load', { model, threads: 1 })).fingerprint;
    }
  });

  describe('export of the edited model', () => {
    before(async () => {
      await worker.send('edit/run', { method: 'ft', cases: [needle], layer: 1 });
    });
    after(async () => {
      await worker.send('edit/revertAll', {});
    });
    const exportRows: Row[] = [
      { name: 'into the model\'s own folder', method: 'edit/export', params: { dir: model }, code: 'bad-input', message: /inside the model folder .*: Locus never writes there/ },
      { name: 'into a new folder inside the model folder', method: 'edit/export', params: { dir: path.join(model, 'edited') }, code: 'bad-input', message: /inside the model folder/, absent: [path.join(model, 'edited')] },
      { name: 'onto a file', method: 'edit/export', params: { dir: aFile }, code: 'bad-input', message: /export folder .*a-file\.txt is a file/, unchanged: [aFile] },
      { name: 'under a file', method: 'edit/export', params: { dir: path.join(aFile, 'edited') }, code: 'io', message: /^export folder .*a-file\.txt\/edited: a part of the path is a file, not a folder$/ },
      { name: 'into a non-empty folder', method: 'edit/export', params: { dir: at('full') }, code: 'bad-input', message: /export folder .*full is not empty/, unchanged: [at('full')] },
      { name: 'under /proc', method: 'edit/export', params: { dir: '/proc/locus-export' }, code: 'bad-input', message: /export folder \/proc\/locus-export is under \/proc, a system folder/ },
      { name: 'with dir as a number', method: 'edit/export', params: { dir: 42 }, code: 'bad-input', message: /^dir must be a string \(got 42\)$/ },
    ];
    for (const row of exportRows) {
      test(`edit/export ${row.name} is refused`, async () => {
        const digests = (row.unchanged ?? []).map(digest);
        await assert.rejects(worker.send(row.method, row.params as never), (e) => assertUserError(e, row));
        assert.equal((await worker.send('edit/list', {})).edits.length, 1, 'the edit is still applied');
        assert.deepEqual((row.unchanged ?? []).map(digest), digests, 'unchanged files');
        for (const p of row.absent ?? []) assert.ok(!fs.existsSync(p), `${p} was not created`);
        assert.equal(digest(model), modelDigest, 'the model folder is unchanged');
      });
    }
    test('edit/export into a new folder still works and loads', async () => {
      const r = await worker.send('edit/export', { dir: at('exported') });
      assert.deepEqual(r.edits, ['e1']);
      const other = inMemoryWorker();
      try {
        const info = await other.send('model/load', { model: at('exported'), threads: 1 });
        assert.notEqual(info.fingerprint, fingerprint, 'the export holds the edited weights');
      } finally {
        await other.dispose();
      }
    });
  });

  test('a study folder locked by another writer is busy, named with its pid', async () => {
    const held = lockFolder(at('held'));
    try {
      await assert.rejects(worker.send('study/run', study({ dir: at('held') })), (e) =>
        assertUserError(e, { code: 'busy', message: new RegExp(`^study folder .*held is being written by process ${process.pid} .*wait for it or stop it$`) }));
      assert.deepEqual(fs.readdirSync(at('held')), ['.lock'], 'nothing but the holder\'s lock was written');
    } finally {
      held.release();
    }
  });

  test('two workers running a study on one folder: the second is busy, the first finishes with each row once', async () => {
    const second = inMemoryWorker();
    try {
      await second.send('model/load', { model, threads: 1 });
      const dir = at('shared-study');
      let refused: Promise<unknown> | undefined;
      const first = worker.send('study/run', study({ dir, cases: '20952,3648' }), {
        // The lock is taken before the first progress message: the other worker must be refused now.
        onProgress: (p) => {
          if (p.kind === 'report' && !refused) refused = second.send('study/run', study({ dir, cases: '20952,3648' })).then(() => assert.fail('the second study ran'), (e) => e);
        },
      });
      const done = await first;
      assert.ok(refused, 'the first study reported progress');
      assertUserError(await refused, { code: 'busy', message: new RegExp(`^study folder .*shared-study is being written by process ${process.pid}`) });
      assert.deepEqual([done.rows, done.added, done.total], [2, 2, 2]);
      assert.ok(!fs.existsSync(path.join(dir, '.lock')), 'the lock was released');
      // The lock is released: the second worker now resumes the finished study and adds nothing.
      const again = await second.send('study/run', study({ dir, cases: '20952,3648' }));
      assert.deepEqual([again.rows, again.added], [2, 0]);
    } finally {
      await second.dispose();
    }
  });

  test('a cancelled study answers "cancelled" (not a failure) and releases its lock', async () => {
    const source = new CancellationTokenSource();
    const dir = at('cancelled-study');
    const run = worker.send('study/run', study({ dir }), { token: source.token, onProgress: (p) => p.kind === 'report' && source.cancel() });
    await assert.rejects(run, (e: EngineError) => e.code === 'cancelled' && !/\n/.test(e.message));
    assert.ok(!fs.existsSync(path.join(dir, '.lock')));
    assert.equal((await worker.send('model/info', {}))?.fingerprint, fingerprint);
  });
});

test('toResponseError: LocusErrors keep their code and line; anything else is internal with the stack in data', () => {
  for (const code of ['non-finite', 'io', 'busy', 'bad-input'] as const) {
    const r = toResponseError(new LocusError(code, `what is wrong (${code})`));
    assert.equal(r.code, ENGINE_ERROR_CODES.failed);
    assert.equal(r.message, `what is wrong (${code})`);
    assert.deepEqual(r.data, { code } satisfies EngineErrorData);
  }
  assert.equal(toResponseError(new LocusError('bad-config', 'a.json is not valid JSON near\n  "x": 1,\n here')).message, 'a.json is not valid JSON near "x": 1, here');
  const c = toResponseError(new LocusError('cancelled', 'cancelled'));
  assert.equal(c.code, ENGINE_ERROR_CODES.cancelled);
  const bug = toResponseError(new TypeError('x is undefined'));
  assert.equal(bug.code, ENGINE_ERROR_CODES.internal);
  assert.equal(bug.data?.code, 'internal');
  assert.match(bug.data?.stack ?? '', /TypeError: x is undefined\n\s+at /);
  // The CLI's flag for NaN weights reads as the extension's setting through the worker.
  assert.equal(toResponseError(new LocusError('non-finite', 'w.safetensors: a has 1 NaN/Inf of 4; pass --allow-nonfinite to load anyway')).message,
    'w.safetensors: a has 1 NaN/Inf of 4; set locus.allowNonFinite to load anyway');
  // The other CLI flags a worker message can hold; a path that contains one is left alone.
  const worded = (m: string): string => toResponseError(new LocusError('bad-input', m)).message;
  assert.equal(worded('--cases "x": not a case list; use case_ids'), 'cases "x": not a case list; use case_ids');
  assert.equal(worded('/d is a folder; --dataset takes a CounterFact JSON (or JSON lines) file'), '/d is a folder; the dataset takes a CounterFact JSON (or JSON lines) file');
  assert.equal(worded('the statistics cache (--cache) /w/.locus/stats: cannot create it'), 'the statistics cache /w/.locus/stats: cannot create it');
  assert.equal(worded('/r holds a study of m (f1), not of n (f2); use another --out'), '/r holds a study of m (f1), not of n (f2); use another study folder');
  assert.equal(worded('/data/run--cases--dataset/x is a folder'), '/data/run--cases--dataset/x is a folder');
});

/**
 * Root reads every file, so permission denied needs another user: the real worker bundle
 * (dist/worker.js, `node esbuild.js worker`) forked as uid 65534, as the harness runs the CLI.
 */
test('an unreadable model folder or weights file is one "io" line from a worker run by another user', { skip: process.getuid?.() !== 0 && 'needs root to fork as another user' }, async () => {
  const workerPath = path.join(repoRoot, 'dist', 'worker.js');
  assert.ok(fs.existsSync(workerPath), `${workerPath} is missing: run "node esbuild.js worker"`);
  const closedWeights = copyModel('gpt2-tiny-trained', 'closed-weights');
  fs.chmodSync(path.join(closedWeights, 'model.safetensors'), 0o000);
  const closedFolder = copyModel('gpt2-tiny-trained', 'closed-folder');
  fs.chmodSync(closedFolder, 0o000);
  const readable = copyModel('gpt2-tiny-trained', 'readable');
  const child = fork(workerPath, [], { uid: 65534, gid: 65534, cwd: tmp, env: { ...process.env, HOME: tmp }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  connection.listen();
  try {
    const info = await sendEngineRequest(connection, 'model/load', { model: readable, threads: 1 });
    for (const [dir, message] of [
      [closedWeights, /closed-weights\/model\.safetensors: permission denied/],
      [closedFolder, /closed-folder.*permission denied/],
    ] as const) {
      await assert.rejects(sendEngineRequest(connection, 'model/load', { model: dir, threads: 1 }), (e) => assertUserError(e, { code: 'io', message }));
    }
    // The closed folders were refused by the folder checks: the worker still holds its model.
    assert.equal((await sendEngineRequest(connection, 'model/info', {}))?.fingerprint, info.fingerprint, stderr);
    await sendEngineRequest(connection, 'worker/shutdown', {});
  } finally {
    connection.dispose();
    if (child.exitCode === null) child.kill();
    fs.chmodSync(closedFolder, 0o755);
  }
});
