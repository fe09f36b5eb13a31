import * as assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { junitXml, parseFactsFile } from '../../../src/engine/index';
import type { FactOutcome } from '../../../src/engine/index';

/** sax in strict mode: a well-formedness check (installed with @vscode/vsce's xml2js). */
interface SaxParser {
  onopentag: (node: { name: string; attributes: Record<string, string> }) => void;
  onerror: (e: Error) => void;
  write(xml: string): SaxParser;
  close(): void;
}
const sax = createRequire(__filename)('sax') as { parser(strict: boolean): SaxParser };

/** Every element's attributes in document order; throws on XML that is not well-formed. */
function elements(xml: string): { name: string; attributes: Record<string, string> }[] {
  const out: { name: string; attributes: Record<string, string> }[] = [];
  const p = sax.parser(true);
  p.onopentag = (n) => out.push(n);
  p.onerror = (e) => {
    throw e;
  };
  p.write(xml).close();
  return out;
}

/** The facts file's parsing rules and the JUnit writer's escaping, without a model. */
describe('locus assert: facts file and JUnit XML', () => {
  test('defaults, comments, CRLF and line numbers', () => {
    const checks = parseFactsFile('# c\r\n\r\n{"prompt":"a","expect":" b"}\r\n  {"prompt":"c","expect":" d","minProb":0,"maxRank":3,"forbid":[" e"],"protocol":"sequence"}\n', 'f.jsonl');
    assert.deepEqual(checks, [
      { line: 3, prompt: 'a', expect: ' b', minProb: undefined, maxRank: 1, forbid: [], protocol: 'first-token' },
      { line: 4, prompt: 'c', expect: ' d', minProb: 0, maxRank: 3, forbid: [' e'], protocol: 'sequence' },
    ]);
  });

  test('each malformed line is named by its number', () => {
    const bad: [string, RegExp][] = [
      ['[1, 2]', /f:1: each line must be a JSON object/],
      ['{"prompt":"","expect":" b"}', /f:1: "prompt" must be a non-empty string/],
      ['{"prompt":"a","expect":" b","minProb":1.5}', /f:1: "minProb" must be a number from 0 to 1 \(got 1.5\)/],
      ['{"prompt":"a","expect":" b","maxRank":2.5}', /f:1: "maxRank" must be an integer ≥ 1/],
      ['{"prompt":"a","expect":" b","forbid":" c"}', /f:1: "forbid" must be an array of non-empty strings/],
      ['{"prompt":"a","expect":" b","protocol":"greedy"}', /f:1: "protocol" must be one of first-token, sequence/],
      ['{"prompt":"a","expect":" b"}\n{"prompt":"a" "expect":" b"}', /f:2: not valid JSON/],
      ['\n# nothing\n', /f holds no facts/],
    ];
    for (const [text, message] of bad) assert.throws(() => parseFactsFile(text, 'f'), (e: Error) => message.test(e.message) && !e.message.includes('\n'), text);
  });

  test('JUnit XML is well-formed with quotes, ampersands, angle brackets, newlines and control characters; counts match', () => {
    const [a, b] = parseFactsFile('{"prompt":"Tom & \\"Jerry\\" <live> in","expect":" \'x\'"}\n{"prompt":"p\\u0001q","expect":" ]]>"}', 'f');
    const outcome = (check: typeof a, passed: boolean): FactOutcome => ({
      check, passed, expected: { answer: check.expect, prob: 0.1, rank: 2 }, gave: { text: ' y', prob: 0.5 }, forbidden: [],
      reasons: passed ? [] : ['rank 2 > 1', 'p <0.1> & more'], message: passed ? '' : `line ${check.line}: "${check.prompt}" <failed> & "quoted"\nsecond`,
    });
    const xml = junitXml({ name: 'facts & <more>.jsonl', outcomes: [outcome(a, false), outcome(b, true)], seconds: 1.5, properties: { model: 'm "x"' } });
    const els = elements(xml);
    const suite = els.find((e) => e.name === 'testsuite')!;
    assert.deepEqual([suite.attributes.name, suite.attributes.tests, suite.attributes.failures, suite.attributes.time], ['facts & <more>.jsonl', '2', '1', '1.500']);
    const cases = els.filter((e) => e.name === 'testcase');
    assert.equal(cases[0].attributes.name, 'line 1: Tom & "Jerry" <live> in → " \'x\'"');
    assert.equal(cases[1].attributes.name, 'line 2: pq → " ]]>"', 'control characters XML cannot carry are dropped');
    const failure = els.find((e) => e.name === 'failure')!;
    assert.equal(failure.attributes.message, 'line 1: "Tom & "Jerry" <live> in" <failed> & "quoted"\nsecond');
    assert.equal(els.find((e) => e.name === 'property')!.attributes.value, 'm "x"');
  });
});
