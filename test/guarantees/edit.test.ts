/**
 * Guarantee: every bad input to `locus edit` gets one clear line and exit 2, before any computation
 * where it can be known then, and the model folder is never written (issue 15 items 4, 5, 7, 8).
 * Rows drive the real CLI on a copy of the golden gpt2-facts-trained model; FT (the fastest method)
 * where a row must get past validation.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { LocusError, loadModel, runEdit } from '../../src/engine/index';
import type { EditJob, FactCase } from '../../src/engine/index';
import { golden, tempDir } from '../helpers/paths';
import { digest, guaranteeRows, runCli } from './harness';
import type { GuaranteeRow } from './harness';

const tmp = tempDir('locus-edit-guarantee-');
// Readable by "nobody" (the unprivileged rows) and writable only by us.
fs.chmodSync(tmp, 0o755);
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const at = (...p: string[]): string => path.join(tmp, ...p);
const model = at('model');
fs.cpSync(golden('gpt2-facts-trained'), model, { recursive: true });
// A writable copy (the golden files are read-only): a bug that writes into the model folder must show
// up as a changed digest, and the folder must be removable afterwards when the tests do not run as root.
const makeWritable = (p: string): void => {
  const dir = fs.statSync(p).isDirectory();
  fs.chmodSync(p, dir ? 0o755 : 0o644);
  if (dir) for (const n of fs.readdirSync(p)) makeWritable(path.join(p, n));
};
makeWritable(model);
const corpus = golden('gpt2-facts-trained', 'stats_corpus.txt');

/** A copy of the model with one NaN in an MLP weight (bytes patched in place: no writer would write it). */
const nanModel = at('nan-model');
fs.cpSync(model, nanModel, { recursive: true });
{
  const file = path.join(nanModel, 'model.safetensors');
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
  const name = Object.keys(header).find((k) => /h\.1\.mlp\.c_proj\.weight$/.test(k))!;
  bytes.writeFloatLE(Number.NaN, 8 + headerLength + header[name].data_offsets[0]);
  fs.writeFileSync(file, bytes);
}
const cache = at('stats');

const eiffel = { prompt: '{} is located in the city of', subject: 'The Eiffel Tower', target_new: { str: 'Rome' }, target_true: { str: 'Paris' } };
const write = (name: string, content: unknown): string => {
  fs.writeFileSync(at(name), typeof content === 'string' ? content : JSON.stringify(content));
  return at(name);
};
const request = write('request.json', eiffel);
write('request-bom.json', '\ufeff' + JSON.stringify(eiffel));
write('same-target.json', { ...eiffel, target_new: { str: ' Paris ' } });
write('same-target-2.json', [eiffel, { ...eiffel, target_new: 'Paris' }]);
write('paraphrase-string.json', { ...eiffel, paraphrase_prompts: 'The Eiffel Tower is in' });
write('neighborhood-numbers.json', { requested_rewrite: eiffel, neighborhood_prompts: [1, 2] });
write('requests-object.json', { requests: { a: eiffel } });
write('requests-empty.json', { requests: [] });
write('not-json.json', '{"prompt": "{} is in", ');
write('empty-target.json', { ...eiffel, target_new: { str: '  ' } });
write('templates-empty.json', []);
write('templates-no-slot.json', ['{}', 'The news.']);
write('templates-mixed.json', ['{}', ['{}']]);
write('templates-object.json', { a: '{}' });
const hp = (name: string, content: unknown): string => write(`hparams-${name}.json`, content);
hp('array', [{ v_lr: 0.5 }]);
hp('string', '"v_lr"');
hp('negative-steps', { v_num_grad_steps: -5 });
hp('fraction-steps', { v_num_grad_steps: 2.5 });
hp('ft-fraction-steps', { num_steps: 2.5 });
hp('negative-lr', { lr: -0.1 });
hp('zero-vlr', { v_lr: 0 });
hp('string-vlr', { v_lr: '0.5' });
hp('infinite-vlr', '{"v_lr": 1e999}');
hp('empty-layers', { layers: [] });
hp('bool-mom2', { mom2_adjustment: 'yes' });
hp('template-params', { context_template_length_params: [[5]] });
hp('loss-layer', { v_loss_layer: 99 });
hp('huge-vlr', { v_lr: 1e308 });
hp('unknown-key', { not_a_key: 1 });
hp('null', 'null');
write('hparams-bom.json', '\ufeff' + JSON.stringify({ num_steps: 2 }));
fs.symlinkSync(model, at('model-link'));
fs.writeFileSync(at('a-file'), 'x');
fs.mkdirSync(at('readonly'), { mode: 0o555 });
fs.chmodSync(at('readonly'), 0o555);
fs.mkdirSync(at('not-empty'));
fs.writeFileSync(at('not-empty', 'keep.txt'), 'keep');

const edit = (method: string, ...rest: string[]): string[] => ['edit', '--model', model, '--method', method, '--layer', '1', '--request', request, ...rest];
const ft = (...rest: string[]): string[] => edit('ft', ...rest);
const stats = ['--stats-corpus', corpus, '--cache', cache];
const modelUnchanged = (): string[] => [model];

const rows: GuaranteeRow[] = [
  // Requests (item 8): nothing silently accepted or dropped.
  { name: 'target_new equal to target_true (after trimming) names the request', argv: ['edit', '--model', model, '--method', 'ft', '--request', at('same-target.json')], exit: 2, message: /same-target\.json: request 0: target_new "Paris" is the same as target_true/ },
  { name: 'equal targets in the second request of a list name request 1', argv: ['edit', '--model', model, '--method', 'ft', '--request', at('same-target-2.json')], exit: 2, message: /request 1: target_new "Paris" is the same as target_true/ },
  { name: 'paraphrase_prompts that is a string is refused, naming the request', argv: ['edit', '--model', model, '--method', 'ft', '--request', at('paraphrase-string.json')], exit: 2, message: /request 0: "paraphrase_prompts" must be a list of prompt strings, not a string/ },
  { name: 'neighborhood_prompts holding numbers is refused', argv: ['edit', '--model', model, '--method', 'ft', '--request', at('neighborhood-numbers.json')], exit: 2, message: /request 0: "neighborhood_prompts"\[0\] must be a non-empty prompt string, not a number/ },
  { name: '"requests" that is not an array', argv: ['edit', '--model', model, '--method', 'ft', '--request', at('requests-object.json')], exit: 2, message: /"requests" must be an array of requests, not an object/ },
  { name: 'an empty "requests" list', argv: ['edit', '--model', model, '--method', 'ft', '--request', at('requests-empty.json')], exit: 2, message: /holds no request/ },
  { name: 'a request file that is not valid JSON', argv: ['edit', '--model', model, '--method', 'ft', '--request', at('not-json.json')], exit: 2, message: /request file .*not-json\.json is not valid JSON/ },
  { name: 'a request file that does not exist', argv: ['edit', '--model', model, '--method', 'ft', '--request', at('nope.json')], exit: 2, message: /request file .*nope\.json does not exist/ },
  { name: 'a blank target_new', argv: ['edit', '--model', model, '--method', 'ft', '--request', at('empty-target.json')], exit: 2, message: /needs a non-empty target_new\.str/ },
  { name: 'a request file with a UTF-8 BOM works', argv: ['edit', '--model', model, '--method', 'ft', '--layer', '1', '--request', at('request-bom.json'), '--json'], exit: 0, unchanged: modelUnchanged },
  // Context templates.
  { name: '--context-templates [] is a one-line error, not a crash', argv: ft('--context-templates', at('templates-empty.json')), exit: 2, message: /--context-templates .*templates-empty\.json must be a non-empty list of context templates/ },
  { name: 'a context template without {} is refused', argv: ft('--context-templates', at('templates-no-slot.json')), exit: 2, message: /template "The news\." has no \{\} where the prompt goes/ },
  { name: 'templates mixing strings and groups are refused', argv: edit('memit', '--context-templates', at('templates-mixed.json'), ...stats), exit: 2, message: /mixes templates and groups/ },
  { name: 'a templates file holding an object is refused', argv: ft('--context-templates', at('templates-object.json')), exit: 2, message: /must be a non-empty list of context templates/ },
  // Hyper-parameters (item 8): the file is named with the key; the three methods agree.
  { name: 'an hparams file holding an array', argv: ft('--hparams', at('hparams-array.json')), exit: 2, message: /hparams file .*hparams-array\.json must hold a JSON object .*not an array/ },
  { name: 'an hparams file holding a string', argv: ft('--hparams', at('hparams-string.json')), exit: 2, message: /hparams file .*hparams-string\.json must hold a JSON object .*not a string/ },
  { name: 'ROME v_num_grad_steps -5 is refused (it used to run a zero-step edit)', argv: edit('rome', '--hparams', at('hparams-negative-steps.json'), ...stats), exit: 2, message: /hparams-negative-steps\.json: "v_num_grad_steps" must be a positive integer \(got -5\)/, absent: () => [cache] },
  { name: 'MEMIT v_num_grad_steps -5 is refused the same way', argv: edit('memit', '--hparams', at('hparams-negative-steps.json'), ...stats), exit: 2, message: /"v_num_grad_steps" must be a positive integer \(got -5\)/ },
  { name: 'a fractional step count', argv: edit('rome', '--hparams', at('hparams-fraction-steps.json'), ...stats), exit: 2, message: /"v_num_grad_steps" must be a positive integer \(got 2\.5\)/ },
  { name: 'FT num_steps 2.5', argv: ft('--hparams', at('hparams-ft-fraction-steps.json')), exit: 2, message: /"num_steps" must be a positive integer \(got 2\.5\)/ },
  { name: 'a negative learning rate', argv: ft('--hparams', at('hparams-negative-lr.json')), exit: 2, message: /"lr" must be a finite number > 0 \(got -0\.1\)/ },
  { name: 'a zero v_lr', argv: edit('rome', '--hparams', at('hparams-zero-vlr.json'), ...stats), exit: 2, message: /"v_lr" must be a finite number > 0 \(got 0\)/ },
  { name: 'a learning rate given as a string', argv: edit('rome', '--hparams', at('hparams-string-vlr.json'), ...stats), exit: 2, message: /hparams-string-vlr\.json: "v_lr" must be a finite number > 0 \(got "0\.5"\)/ },
  { name: 'an infinite learning rate (1e999 in JSON)', argv: edit('rome', '--hparams', at('hparams-infinite-vlr.json'), ...stats), exit: 2, message: /"v_lr" must be a finite number > 0 \(got Infinity\)/ },
  { name: 'layers [] for ROME', argv: edit('rome', '--hparams', at('hparams-empty-layers.json'), ...stats), exit: 2, message: /"layers" must be a non-empty list of layer indices/ },
  { name: 'layers [] for MEMIT (the same message as ROME)', argv: edit('memit', '--hparams', at('hparams-empty-layers.json'), ...stats), exit: 2, message: /"layers" must be a non-empty list of layer indices/ },
  { name: 'layers [] for FT (the same message as ROME)', argv: ft('--hparams', at('hparams-empty-layers.json')), exit: 2, message: /"layers" must be a non-empty list of layer indices/ },
  { name: 'mom2_adjustment "yes" (it used to read as false)', argv: edit('rome', '--hparams', at('hparams-bool-mom2.json'), ...stats), exit: 2, message: /"mom2_adjustment" must be true or false \(got "yes"\)/ },
  { name: 'context_template_length_params that are not pairs', argv: edit('rome', '--hparams', at('hparams-template-params.json'), ...stats), exit: 2, message: /"context_template_length_params" must be a list of \[length, count\] pairs/ },
  { name: 'v_loss_layer beyond the model', argv: edit('rome', '--hparams', at('hparams-loss-layer.json'), ...stats), exit: 2, message: /"v_loss_layer" 99 is outside this model's blocks 0\.\.5/ },
  { name: 'an hparams file that does not exist', argv: ft('--hparams', at('nope-hparams.json')), exit: 2, message: /hparams file .*nope-hparams\.json does not exist/ },
  { name: 'an unknown hparams key is a note and the edit runs', argv: ft('--hparams', at('hparams-unknown-key.json')), exit: 0, message: /note: hparams file .*hparams-unknown-key\.json: unknown key "not_a_key" ignored/, unchanged: modelUnchanged },
  { name: 'an hparams file holding null', argv: ft('--hparams', at('hparams-null.json')), exit: 2, message: /hparams file .*hparams-null\.json must hold a JSON object .*not null/ },
  { name: 'an hparams file with a UTF-8 BOM works', argv: ft('--hparams', at('hparams-bom.json'), '--json'), exit: 0, unchanged: modelUnchanged },
  { name: 'a request "file" that is a folder', argv: ['edit', '--model', model, '--method', 'ft', '--request', tmp], exit: 2, message: /request file .* is a folder, expected a file/ },
  { name: 'a statistics corpus that does not exist (checked before loading)', argv: edit('rome', '--stats-corpus', at('nope.txt'), '--cache', cache), exit: 2, message: /statistics corpus .*nope\.txt does not exist/ },
  // Numbers (item 7, 5).
  { name: '--layer -1 names the flag (not "ambiguous")', argv: ft('--layer', '-1'), exit: 2, message: /--layer must be an integer ≥ 0 \(got "-1"\)/ },
  { name: '--layer beyond the model', argv: ft('--layer', '6'), exit: 2, message: /--layer 6 is outside 0\.\.5/ },
  { name: '--seed 99999999999 is out of range', argv: ft('--seed', '99999999999'), exit: 2, message: /--seed must be an integer from 0 to 4294967295 \(got "99999999999"\)/ },
  { name: '--seed -1', argv: ft('--seed', '-1'), exit: 2, message: /--seed must be an integer from 0 to 4294967295/ },
  { name: '--seed 1.5', argv: ft('--seed', '1.5'), exit: 2, message: /--seed must be an integer/ },
  { name: '--editing-noise -0.1', argv: ft('--editing-noise', '-0.1'), exit: 2, message: /--editing-noise must be a number from 0 to 1000 \(got "-0\.1"\)/ },
  { name: '--editing-noise NaN', argv: ft('--editing-noise', 'NaN'), exit: 2, message: /--editing-noise must be a number from 0 to 1000 \(got "NaN"\)/ },
  { name: '--editing-noise Infinity', argv: ft('--editing-noise', 'Infinity'), exit: 2, message: /--editing-noise must be a number/ },
  { name: '--editing-noise 1e300', argv: ft('--editing-noise', '1e300'), exit: 2, message: /--editing-noise must be a number from 0 to 1000 \(got "1e300"\)/ },
  // The save target (item 4, 7): refused before anything is computed.
  { name: '--save /proc/x is refused at once (it looped forever)', argv: ft('--save', '/proc/x'), exit: 2, message: /--save \/proc\/x is under \/proc, a system folder/ },
  { name: '--save onto a file', argv: () => ft('--save', at('a-file')), exit: 2, message: /--save .*a-file is a file, expected a folder/, unchanged: () => [at('a-file')] },
  { name: '--save under a file', argv: () => ft('--save', at('a-file', 'edited')), exit: 2, message: /--save .*a-file\/edited: a part of the path is a file, not a folder/, unchanged: () => [at('a-file')] },
  { name: '--save into a read-only folder', argv: () => ft('--save', at('readonly', 'edited')), exit: 2, message: /--save .*readonly\/edited: cannot create it, .*readonly is not writable/, unprivileged: true, absent: () => [at('readonly', 'edited')] },
  { name: '--save onto a read-only empty folder', argv: () => ft('--save', at('readonly')), exit: 2, message: /--save .*readonly: the folder is not writable/, unprivileged: true },
  { name: '--save inside the model folder', argv: () => ft('--save', path.join(model, 'edited')), exit: 2, message: /--save .*is inside the model folder/, unchanged: modelUnchanged },
  { name: '--save onto the model folder itself', argv: () => ft('--save', model), exit: 2, message: /--save .*is inside the model folder/, unchanged: modelUnchanged },
  { name: '--save through a symbolic link into the model folder', argv: () => ft('--save', path.join(at('model-link'), 'edited')), exit: 2, message: /--save .*model-link\/edited is inside the model folder/, unchanged: modelUnchanged },
  { name: '--save into a new nested folder works', argv: () => ft('--save', at('new', 'nested', 'edited')), exit: 0, unchanged: modelUnchanged, before: () => assert.ok(!fs.existsSync(at('new'))) },
  { name: '--save into a folder that is not empty', argv: () => ft('--save', at('not-empty')), exit: 2, message: /--save .*not-empty is not empty: choose a new or empty folder/, unchanged: () => [at('not-empty')] },
  // The statistics cache (item 7): checked before statistics are computed; never in the model folder.
  { name: 'ROME with an unwritable user-level cache (XDG_CACHE_HOME read-only) fails at once naming --cache', argv: edit('rome', '--stats-corpus', corpus), env: () => ({ ...process.env, XDG_CACHE_HOME: at('readonly') }), exit: 2, message: /the statistics cache \(--cache\) .*readonly\/locus\/stats: cannot create it, .*readonly is not writable/, unprivileged: true, absent: () => [at('readonly', 'locus')] },
  { name: 'MEMIT with --cache inside the model folder', argv: () => edit('memit', '--stats-corpus', corpus, '--cache', path.join(model, 'stats')), exit: 2, message: /the statistics cache \(--cache\) .* is inside the model folder/, unchanged: modelUnchanged },
  { name: 'ROME with --cache onto a file', argv: () => edit('rome', '--stats-corpus', corpus, '--cache', at('a-file')), exit: 2, message: /the statistics cache \(--cache\) .*a-file is a file, expected a folder/, unchanged: () => [at('a-file')] },
  // Finite guard (item 5): a diverged edit is an error naming the quantity, and --save writes nothing.
  { name: 'ROME with v_lr 1e308 fails "non-finite" naming the ΔW, and --save writes nothing', argv: () => edit('rome', '--hparams', at('hparams-huge-vlr.json'), ...stats, '--save', at('diverged')), exit: 2, message: /ΔW of blocks\.1\.mlp\.W_out.*non-finite/, unchanged: modelUnchanged, absent: () => [at('diverged')] },
];

guaranteeRows(rows);

test('a request without paraphrase or neighborhood prompts is not "non-finite": those scores print as — and are null in JSON', async () => {
  const before = digest(model);
  const r = await runCli(ft());
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /scores: rewrite \d\.\d{3} {2}paraphrase — {2}neighborhood — {2}overall \d\.\d{3}/);
  const j = await runCli(ft('--json'));
  assert.equal(j.code, 0, j.stderr);
  const out = JSON.parse(j.stdout) as { metrics: Record<string, number | null>; post: { targetNewLogprob: number } };
  assert.equal(out.metrics['paraphrase'], null);
  assert.equal(typeof out.metrics['rewrite'], 'number');
  assert.equal(typeof out.post.targetNewLogprob, 'number');
  assert.equal(digest(model), before, 'the model folder is unchanged');
});

test('the engine refuses the same inputs for the worker (no CLI in between), before any model work', async () => {
  const m = await loadModel(model, { threads: 1 });
  try {
    const job = (over: Partial<EditJob>): EditJob => ({ method: 'ft', layer: 1, cases: [eiffel as FactCase], problem: 'error-injection', cacheDir: cache, ...over });
    const refuses = async (over: Partial<EditJob>, re: RegExp): Promise<void> => {
      await assert.rejects(runEdit(m, job(over)), (e: unknown) => e instanceof LocusError && re.test(e.message));
    };
    await refuses({ cases: [{ ...eiffel, target_true: { str: 'Rome' } }] }, /request 0: target_new "Rome" is the same as target_true/);
    await refuses({ cases: [{ ...eiffel, paraphrase_prompts: 'x' as unknown as string[] }] }, /request 0: "paraphrase_prompts" must be a list/);
    await refuses({ seed: 2 ** 32 }, /seed must be an integer from 0 to 4294967295/);
    await refuses({ editingNoise: 1e300 }, /editingNoise must be a number from 0 to 1000/);
    await refuses({ editingNoise: Number.NaN }, /editingNoise must be a number/);
    await refuses({ contextTemplates: [] }, /context templates must be a non-empty list/);
    await refuses({ hparams: [1] as unknown as Record<string, unknown> }, /hparams must be a JSON object/);
    await refuses({ method: 'rome', hparams: { v_num_grad_steps: -5 } }, /hparams: "v_num_grad_steps" must be a positive integer \(got -5\)/);
    await refuses({ method: 'memit', cacheDir: path.join(model, 'stats') }, /statistics cache \(--cache\) .* is inside the model folder/);
  } finally {
    await m.dispose();
  }
});

test('a model with a NaN weight loaded with --allow-nonfinite: the edit stops before optimising, naming the log-probs; nothing is saved', async () => {
  const r = await runCli(['edit', '--model', nanModel, '--allow-nonfinite', '--method', 'ft', '--layer', '1', '--request', request, '--save', at('from-nan')]);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  // The load warning (--allow-nonfinite), then the one error line.
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /^warning: .*c_proj\.weight has 1 NaN\/Inf/);
  assert.match(lines[1], /^locus edit: the log-probs of request 0 before the edit: rewrite\.target is NaN .*check its weights/);
  assert.ok(!fs.existsSync(at('from-nan')));
});
