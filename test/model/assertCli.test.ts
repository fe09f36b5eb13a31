import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main';
import { loadModel, probe } from '../../src/engine/index';
import type { LoadedModel } from '../../src/engine/index';
import { targetLogprobs } from '../../src/engine/methods/evaluate/logprobs';
import { tempDir } from '../helpers/paths';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** sax (a strict, well-formedness-checking XML parser; installed with @vscode/vsce's xml2js). */
interface SaxParser {
  onopentag: (node: { name: string; attributes: Record<string, string> }) => void;
  onclosetag: (name: string) => void;
  ontext: (text: string) => void;
  onerror: (e: Error) => void;
  write(xml: string): SaxParser;
  close(): void;
}
const sax = createRequire(__filename)('sax') as { parser(strict: boolean): SaxParser };

interface XmlNode {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
  text: string;
}

function parseXml(xml: string): XmlNode {
  const parser = sax.parser(true);
  const root: XmlNode = { name: '#document', attributes: {}, children: [], text: '' };
  const stack = [root];
  parser.onopentag = (n) => {
    const node = { name: n.name, attributes: n.attributes, children: [], text: '' };
    stack[stack.length - 1].children.push(node);
    stack.push(node);
  };
  parser.onclosetag = () => void stack.pop();
  parser.ontext = (t) => (stack[stack.length - 1].text += t);
  parser.onerror = (e) => {
    throw e;
  };
  parser.write(xml).close();
  assert.equal(root.children.length, 1);
  return root.children[0];
}

/**
 * `locus assert` on the embedded model (issue 19 acceptance): facts it knows (top-1 in `locus eval`:
 * case 20952 "Angola is located in" → " Africa" p 0.884, case 3648 Shanghai's twin city → " Barcelona")
 * pass with exit 0; wrong answers fail with exit 1 and one line each naming the prompt, the expectation
 * and what the model gave; malformed lines exit 2 naming the line; the JUnit report parses back with
 * the right counts. The reported probabilities are checked against probe and the teacher-forced scorer.
 */
describe('locus assert (embedded model)', () => {
  let tmp: string;
  let model: LoadedModel;
  const file = (name: string, lines: string[]): string => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, lines.join('\n') + '\n');
    return f;
  };
  const ANGOLA = 'Angola is located in';
  const SHANGHAI = 'What is the twin city of Shanghai? It is';
  before(async () => {
    tmp = tempDir('locus-assert-');
    model = await loadModel('default');
  });
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await model.dispose();
  });

  test('known facts pass: exit 0; the JSON probabilities are probe\'s (first token) and the teacher-forced product (sequence)', async () => {
    const f = file('pass.jsonl', [
      '# facts the embedded model knows',
      JSON.stringify({ prompt: ANGOLA, expect: ' Africa', minProb: 0.5, forbid: [' Antarctica', ' Europe'] }),
      '',
      JSON.stringify({ prompt: SHANGHAI, expect: ' Barcelona', maxRank: 1 }),
      JSON.stringify({ prompt: ANGOLA, expect: ' Africa', protocol: 'sequence' }),
      JSON.stringify({ prompt: SHANGHAI, expect: ' Dresden Germany', maxRank: 100000, protocol: 'sequence' }),
    ]);
    const text = await run(['assert', f]);
    assert.equal(text.code, 0, text.out + text.err);
    assert.match(text.out, /^4 facts checked against default-model: 4 passed, 0 failed$/m);
    const r = await run(['assert', f, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { passed: number; failed: number; results: { line: number; passed: boolean; prob: number; rank: number; forbidden: { prob: number }[] }[] };
    assert.deepEqual([j.passed, j.failed], [4, 0]);
    assert.deepEqual(j.results.map((x) => x.line), [2, 4, 5, 6], 'line numbers count comments and blank lines');
    const angola = (await probe(model, ANGOLA, 1)).top[0];
    assert.equal(angola.token, ' Africa');
    assert.ok(Math.abs(j.results[0].prob - angola.prob) < 1e-6, `${j.results[0].prob} vs probe ${angola.prob}`);
    assert.equal(j.results[0].rank, 1);
    assert.ok(j.results[0].forbidden.every((f) => f.prob < j.results[0].prob));
    // A one-token answer scores the same under both protocols.
    assert.ok(Math.abs(j.results[2].prob - j.results[0].prob) < 1e-9);
    const [dresden] = await targetLogprobs(model, [{ prompt: SHANGHAI, target: ' Dresden Germany' }]);
    assert.ok(Math.abs(Math.log(j.results[3].prob) - dresden.sum) < 1e-4, `${Math.log(j.results[3].prob)} vs ${dresden.sum}`);
    assert.ok(j.results[3].rank > 1);
  });

  test('wrong answers fail: exit 1, one line per failure with the prompt, the expectation and what the model gave; JUnit XML parses back', async () => {
    const f = file('fail.jsonl', [
      JSON.stringify({ prompt: ANGOLA, expect: ' Africa' }),
      JSON.stringify({ prompt: ANGOLA, expect: ' Antarctica', minProb: 0.5 }),
      JSON.stringify({ prompt: SHANGHAI, expect: ' Barcelona', forbid: [' Dresden'], minProb: 0.99 }),
    ]);
    const xml = path.join(tmp, 'results.xml');
    const r = await run(['assert', f, '--junit', xml]);
    assert.equal(r.code, 1, r.out + r.err);
    const fails = r.out.split('\n').filter((l) => l.startsWith('FAIL '));
    assert.equal(fails.length, 2, r.out);
    assert.match(fails[0], /^FAIL line 2: "Angola is located in" expected " Antarctica" \(rank ≤ 1, p ≥ 0\.5; first-token\) — model gave " Africa" \(p 0\.88\d\); " Antarctica" has rank \d+, p [\d.e-]+: rank \d+ > 1; p [\d.e-]+ < 0\.5$/);
    assert.match(fails[1], /^FAIL line 3: "What is the twin city of Shanghai\? It is" expected " Barcelona" .* model gave " Barcelona" .*: p 0\.\d+ < 0\.99$/);
    assert.match(r.out, /3 facts checked against default-model: 1 passed, 2 failed/);

    const doc = parseXml(fs.readFileSync(xml, 'utf8'));
    assert.equal(doc.name, 'testsuites');
    const suite = doc.children.find((c) => c.name === 'testsuite')!;
    assert.equal(suite.attributes.name, 'fail.jsonl');
    assert.deepEqual([suite.attributes.tests, suite.attributes.failures, suite.attributes.errors], ['3', '2', '0']);
    const cases = suite.children.filter((c) => c.name === 'testcase');
    assert.equal(cases.length, 3);
    assert.deepEqual(cases.map((c) => c.children.filter((x) => x.name === 'failure').length), [0, 1, 1]);
    const failure = cases[1].children.find((x) => x.name === 'failure')!;
    assert.equal(`FAIL ${failure.attributes.message}`, fails[0], 'the failure message is the printed line');
    assert.equal(cases[1].attributes.name, 'line 2: Angola is located in → " Antarctica"');
    assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.endsWith('.tmp')), [], 'no temp file left behind');
  });

  test('bad input exits 2 naming the line; a missing --edits file is named', async () => {
    const cases: [string[], RegExp][] = [
      [[JSON.stringify({ prompt: ANGOLA, expect: ' Africa' }), '{ "prompt": "x", "expect": '], /bad1\.jsonl:2: not valid JSON/],
      [[JSON.stringify({ prompt: ANGOLA, expect: 3 })], /bad2\.jsonl:1: "expect" must be a non-empty string/],
      [[JSON.stringify({ prompt: ANGOLA, expect: ' Africa', maxRank: 0 })], /bad3\.jsonl:1: "maxRank" must be an integer ≥ 1/],
      [[JSON.stringify({ prompt: ANGOLA, expect: ' Africa', answer: ' x' })], /bad4\.jsonl:1: unknown key "answer"/],
      [['# only a comment'], /bad5\.jsonl holds no facts/],
      [[JSON.stringify({ prompt: ANGOLA, expect: ' Africa', forbid: [' Africa is'] })], /line 1: forbidden " Africa is" starts with the same token/],
    ];
    for (const [i, [lines, message]] of cases.entries()) {
      const r = await run(['assert', file(`bad${i + 1}.jsonl`, lines)]);
      assert.equal(r.code, 2, r.out + r.err);
      assert.match(r.err, message);
      assert.equal(r.err.split('\n').length, 1, r.err);
    }
    const ok = file('ok.jsonl', [JSON.stringify({ prompt: ANGOLA, expect: ' Africa' })]);
    for (const args of [[], [ok, ok], [path.join(tmp, 'missing.jsonl')], [ok, '--edits', path.join(tmp, 'edit.json')]]) {
      const r = await run(['assert', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    }
    // --edits itself is tested in editFileCli.test.ts; a missing file fails before the model loads.
    const edits = await run(['assert', ok, '--edits', path.join(tmp, 'edit.json')]);
    assert.match(edits.err, /--edits .*edit\.json/);
    assert.equal(edits.err.split('\n').length, 1, edits.err);
  });
});
