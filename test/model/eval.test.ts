import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import type { CounterFactRecord } from '../../src/engine/data/counterfact';
import { fillPrompt, loadCounterFact } from '../../src/engine/data/counterfact';
import { forward, forwardContext, isLocusError, loadModel, logSoftmax } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { evaluateFacts, selectKnown } from '../../src/engine/methods/evaluate/knownFacts';
import type { FactEval } from '../../src/engine/methods/evaluate/knownFacts';
import { golden, tempDir } from '../helpers/paths';

const MODEL = golden('gpt2-facts-trained');

/**
 * Toy facts gpt2-facts-trained knows (its training text: golden stats_corpus.txt), each prompt's
 * argmax checked with `locus probe` (p ≥ 0.99 for the right answers), plus one fact it does not know
 * (Angola → " the"). Paraphrase and neighborhood prompts are chosen so the fractions are known by hand;
 * the neighborhood ones are not real neighbours, just prompts whose argmax is or is not target_true's token.
 */
function record(caseId: number, prompt: string, subject: string, trueStr: string, newStr: string, paraphrase: string[], neighborhood: string[]): CounterFactRecord {
  return {
    case_id: caseId,
    pararel_idx: caseId,
    requested_rewrite: { prompt, relation_id: 'P' + (caseId % 7), target_new: { str: newStr, id: 'Q1' }, target_true: { str: trueStr, id: 'Q2' }, subject },
    paraphrase_prompts: paraphrase,
    neighborhood_prompts: neighborhood,
    attribute_prompts: [`${newStr} is known for`],
    generation_prompts: [`${subject} is`],
  };
}

const RECORDS: CounterFactRecord[] = [
  record(101, '{} is located in the city of', 'The Eiffel Tower', 'Paris', 'Rome',
    ['The Eiffel Tower is in', 'I read that. The Eiffel Tower, which is in'], // Paris, Paris
    ['The Eiffel Tower can be found in the city of', 'The Colosseum is located in the city of', 'Big Ben is located in the city of', 'You might know that. The Eiffel Tower is located in the city of']), // Paris, Rome, London, Paris
  record(205, '{} is located in', 'Angola', 'Africa', 'Antarctica',
    ['Angola is a part of the continent of', 'Ghana is a part of the continent of'], // Apple, Toyota
    ['Ghana is in', 'The Louvre is located in the city of']), // Athens, Athens
  record(102, '{} plays the sport of', 'Serena Williams', 'tennis', 'basketball',
    ['Serena Williams is a', 'Therefore, it is known that. Serena Williams plays the sport of'], // tennis, tennis
    ['Michael Jordan plays the sport of', 'Lionel Messi plays the sport of', 'Serena Williams is a']), // basketball, soccer, tennis
  record(7, 'The mother tongue of {} is', 'Leo Tolstoy', 'Russian', 'English',
    ['Leo Tolstoy was a native speaker of', 'Thomas Mann was a native speaker of'], // Russian, German
    ['The mother tongue of Thomas Mann is']), // German
  // Two-token target: only " San" counts.
  record(300, '{} is located in the city of', 'The Golden Gate Bridge', 'San Francisco', 'Seattle',
    ['The Golden Gate Bridge is in', 'The Golden Gate Bridge, which is in'], // San, San
    ['The Space Needle is located in the city of', 'The Golden Gate Bridge is located in the city of']), // Seattle, San
];

const EXPECTED: Omit<FactEval, 'prob'>[] = [
  { caseId: 101, rewrite: true, paraphrase: 1, neighborhood: 0.5 },
  { caseId: 205, rewrite: false, paraphrase: 0, neighborhood: 0 },
  { caseId: 102, rewrite: true, paraphrase: 1, neighborhood: 1 / 3 },
  { caseId: 7, rewrite: true, paraphrase: 0.5, neighborhood: 0 },
  { caseId: 300, rewrite: true, paraphrase: 1, neighborhood: 0.5 },
];
const PROMPTS = 5 + 10 + 12;

const withoutProb = (c: FactEval): Omit<FactEval, 'prob'> => ({ caseId: c.caseId, rewrite: c.rewrite, paraphrase: c.paraphrase, neighborhood: c.neighborhood });

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function assertUserError(r: { code: number; out: string; err: string }, ...words: (RegExp | string)[]): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.err})`);
  assert.equal(r.out, '');
  assert.equal(r.err.split('\n').length, 1, `one line: ${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at |Error:/);
  for (const w of words) assert.ok(typeof w === 'string' ? r.err.includes(w) : w.test(r.err), `${w} in: ${r.err}`);
}

describe('locus eval on gpt2-facts-trained', () => {
  let model: LoadedModel;
  let tmp: string;
  let file: string;
  before(async () => {
    model = await loadModel(MODEL, { threads: 1 });
    tmp = tempDir('locus-eval-');
    file = path.join(tmp, 'facts.json');
    fs.writeFileSync(file, JSON.stringify(RECORDS, null, 2));
  });
  after(async () => {
    await model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the test file is valid CounterFact', () => {
    assert.deepEqual(loadCounterFact(file), RECORDS);
  });

  test('per-case booleans and fractions; probabilities equal a direct forward pass', async () => {
    const progress: number[] = [];
    const r = await evaluateFacts(model, RECORDS, { batchSize: 4, onProgress: (done, total) => (assert.equal(total, PROMPTS), progress.push(done)) });
    assert.deepEqual(r.cases.map(withoutProb), EXPECTED);
    assert.equal(progress.length, Math.ceil(PROMPTS / 4));
    assert.equal(progress.at(-1), PROMPTS);
    for (const [i, rec] of RECORDS.entries()) {
      const ids = model.tokenizer.encode(fillPrompt(rec)).ids;
      const target = model.tokenizer.encode(' ' + rec.requested_rewrite.target_true.str).ids[0];
      const { logits } = await forward(forwardContext(model), [ids], { logits: 'last' });
      const p = Math.exp(logSoftmax(logits!.data)[target]);
      assert.ok(Math.abs(r.cases[i].prob - p) < 1e-6, `case ${rec.case_id}: ${r.cases[i].prob} vs ${p}`);
      assert.ok(EXPECTED[i].rewrite ? p > 0.99 : p < 0.01, `case ${rec.case_id}: p ${p}`);
    }
    assert.equal(r.accuracy.rewrite, 0.8);
    assert.ok(Math.abs(r.accuracy.paraphrase - 3.5 / 5) < 1e-12);
    assert.ok(Math.abs(r.accuracy.neighborhood - (0.5 + 1 / 3 + 0.5) / 5) < 1e-12);

    // One big batch gives the same answers.
    const big = await evaluateFacts(model, RECORDS, { batchSize: 64 });
    assert.deepEqual(big.cases.map(withoutProb), EXPECTED);
    big.cases.forEach((c, i) => assert.ok(Math.abs(c.prob - r.cases[i].prob) < 1e-6));
  });

  test('a prompt longer than the context window keeps its last n_ctx tokens and is counted', async () => {
    const long = 'Big Ben is located in the city of London. '.repeat(20) + 'The Eiffel Tower is in';
    const ids = model.tokenizer.encode(long).ids;
    assert.ok(ids.length > model.config.n_ctx, `${ids.length} tokens`);
    const rec = { ...RECORDS[0], paraphrase_prompts: [long, RECORDS[0].paraphrase_prompts[0]] };
    const r = await evaluateFacts(model, [rec, RECORDS[1]]);
    assert.equal(r.truncated, 1);
    const { logits } = await forward(forwardContext(model), [ids.slice(-model.config.n_ctx)], { logits: 'last' });
    const top = logSoftmax(logits!.data).reduce((best, v, i, a) => (v > a[best] ? i : best), 0);
    assert.equal(r.cases[0].paraphrase, top === 6342 ? 1 : 0.5); // 6342 = " Paris"
    assert.equal((await evaluateFacts(model, RECORDS)).truncated, 0);
  });

  test('cancellation between batches', async () => {
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(evaluateFacts(model, RECORDS, { signal: pre.signal }), (e) => isLocusError(e) && e.code === 'cancelled');
    const mid = new AbortController();
    let calls = 0;
    const onProgress = (): void => {
      calls++;
      mid.abort();
    };
    await assert.rejects(evaluateFacts(model, RECORDS, { batchSize: 4, signal: mid.signal, onProgress }), (e) => isLocusError(e) && e.code === 'cancelled');
    assert.equal(calls, 1);
  });

  test('known:N takes the first N known facts in file order and stops scanning early', async () => {
    const ids = (rs: CounterFactRecord[]): number[] => rs.map((r) => r.case_id);
    assert.deepEqual(ids((await selectKnown(model, RECORDS, 2)).records), [101, 102]);
    assert.deepEqual(ids((await selectKnown(model, RECORDS, 3, { batchSize: 2 })).records), [101, 102, 7]);
    assert.deepEqual(await selectKnown(model, RECORDS, 1, { batchSize: 1 }), { records: [RECORDS[0]], scanned: 1 });
    const all = await selectKnown(model, RECORDS, 10, { batchSize: 2 });
    assert.deepEqual(ids(all.records), [101, 102, 7, 300]);
    assert.equal(all.scanned, 5);
  });

  test('CLI --json: CONTRACTS.md shape, same numbers as the engine', async () => {
    const r = await run(['eval', '--model', MODEL, '--dataset', file, '--json', '--threads', '1']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    const j = JSON.parse(r.out);
    assert.deepEqual(Object.keys(j), ['model', 'dataset', 'cases', 'accuracy']);
    assert.equal(j.model.name, 'gpt2-facts-trained');
    assert.equal(j.model.n_layers, 6);
    assert.equal(j.dataset, file);
    for (const c of j.cases) assert.deepEqual(Object.keys(c), ['caseId', 'rewrite', 'prob', 'paraphrase', 'neighborhood']);
    assert.deepEqual(j.cases.map(withoutProb), EXPECTED);
    assert.deepEqual(Object.keys(j.accuracy), ['rewrite', 'paraphrase', 'neighborhood']);
    assert.equal(j.accuracy.rewrite, 0.8);

    const known = JSON.parse((await run(['eval', '--model', MODEL, '--dataset', file, '--cases', 'known:2', '--json'])).out);
    assert.deepEqual(known.cases.map((c: FactEval) => c.caseId), [101, 102]);
    assert.equal(known.accuracy.rewrite, 1);
    // --limit cuts the candidates first: of 101 and 205 only 101 is known, and stderr says so.
    const limited = await run(['eval', '--model', MODEL, '--dataset', file, '--cases', 'known:2', '--limit', '2', '--json']);
    assert.deepEqual(JSON.parse(limited.out).cases.map((c: FactEval) => c.caseId), [101]);
    assert.match(limited.err, /only 1 of the 2 records are known facts/);
    const ranged = JSON.parse((await run(['eval', '--model', MODEL, '--dataset', file, '--cases', '100-300,7', '--limit', '3', '--json'])).out);
    assert.deepEqual(ranged.cases.map((c: FactEval) => c.caseId), [101, 205, 102]);
  });

  test('CLI text output: relation table and the three accuracies', async () => {
    const r = await run(['eval', '--model', MODEL, '--dataset', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^relation\s+cases\s+rewrite\s+paraphrase\s+neighborhood$/m);
    assert.match(r.out, /^all\s+5\s+80\.0%\s+70\.0%\s+26\.7%$/m);
    assert.match(r.out, /^accuracy rewrite 0\.8000 {2}paraphrase 0\.7000 {2}neighborhood 0\.2667$/m);
    assert.match(r.out, /^27 prompts in /m);
    assert.match((await run(['eval', '--help'])).out, /--cases SPEC/);
  });

  test('CLI errors are one line: malformed dataset, unknown case ids, bad specs', async () => {
    const broken = path.join(tmp, 'broken.json');
    fs.writeFileSync(broken, JSON.stringify(RECORDS).slice(0, 300));
    assertUserError(await run(['eval', '--model', MODEL, '--dataset', broken]), `locus eval: ${broken} is not valid JSON`);
    const nohole = path.join(tmp, 'nohole.json');
    fs.writeFileSync(nohole, JSON.stringify(RECORDS.map((r, i) => (i === 2 ? { ...r, requested_rewrite: { ...r.requested_rewrite, prompt: 'plays' } } : r))));
    assertUserError(await run(['eval', '--model', MODEL, '--dataset', nohole]), `${nohole}: record 2 (case_id 102): requested_rewrite.prompt has no "{}"`);
    assertUserError(await run(['eval', '--model', MODEL, '--dataset', file, '--cases', '101,999,4']), `locus eval: no record in ${file} has case_id 999, 4`);
    assertUserError(await run(['eval', '--model', MODEL, '--dataset', file, '--cases', '9-3']), 'range 9-3 is reversed');
    assertUserError(await run(['eval', '--model', MODEL, '--dataset', path.join(tmp, 'nope.json')]), 'does not exist');
    assertUserError(await run(['eval', '--model', MODEL, '--dataset', file, '--limit', '0']), '--limit must be an integer');
    // Only the unknown fact: known:1 finds nothing.
    const unknown = path.join(tmp, 'unknown.json');
    fs.writeFileSync(unknown, JSON.stringify([RECORDS[1]]));
    assertUserError(await run(['eval', '--model', MODEL, '--dataset', unknown, '--cases', 'known:1']), /gets none of the 1 records/);
  });
});
