import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createTokenizer, gpt2TokenizerJson, loadTokenizer, parseMergesTxt } from '../../../src/engine/model/tokenizer';
import type { Encoding, LocusTokenizer } from '../../../src/engine/model/tokenizer';
import { LocusError } from '../../../src/engine/errors';
import { golden, sharedDir, tempDir } from '../../helpers/paths';

const GOLDEN_MODELS = ['gpt2-tiny-trained', 'gpt2-facts-trained', 'gptj-tiny-random'];
const SPACE = 'The Space Needle is located in the city of';

interface ForwardPrompt {
  prompt: string;
  input_ids: number[];
  tokens: string[];
}
interface CounterFactRecord {
  case_id: number;
  requested_rewrite: { prompt: string; subject: string };
  paraphrase_prompts: string[];
  neighborhood_prompts: string[];
}

const loaded = new Map<string, LocusTokenizer>();
function tokenizerOf(model: string): LocusTokenizer {
  let t = loaded.get(model);
  if (t === undefined) loaded.set(model, (t = loadTokenizer(golden(model))));
  return t;
}
const gpt2 = (): LocusTokenizer => tokenizerOf('gpt2-tiny-trained');

const counterfact: CounterFactRecord[] = JSON.parse(
  fs.readFileSync(path.join(sharedDir, 'data', 'counterfact', 'counterfact_azhx_test_2191.json'), 'utf8'),
);
const isAscii = (s: string): boolean => /^[\x00-\x7f]*$/.test(s);
const fill = (r: CounterFactRecord): string => r.requested_rewrite.prompt.replace('{}', r.requested_rewrite.subject);

/** ~200 texts: 60 filled prompts and their subjects with a leading space, then 80 non-ASCII prompts. */
function samplePrompts(): string[] {
  const out: string[] = [];
  for (const r of counterfact.slice(0, 60)) out.push(fill(r), ' ' + r.requested_rewrite.subject);
  const nonAscii = counterfact
    .flatMap((r) => [fill(r), ...r.paraphrase_prompts, ...r.neighborhood_prompts])
    .filter((s) => !isAscii(s));
  return out.concat(nonAscii.slice(0, 80));
}

/** Spans are non-decreasing, leave no gap, start at 0 and end at text.length. */
function assertCovers(enc: Encoding, text: string): void {
  const o = enc.offsets;
  assert.equal(o.length, enc.ids.length);
  if (text === '') return assert.equal(o.length, 0);
  assert.equal(o[0][0], 0, text);
  assert.equal(o[o.length - 1][1], text.length, text);
  for (let i = 1; i < o.length; i++) {
    assert.ok(o[i][0] >= o[i - 1][0] && o[i][1] >= o[i - 1][1], `monotone at ${i} in ${JSON.stringify(text)}`);
    assert.ok(o[i][0] <= o[i - 1][1], `no gap at ${i} in ${JSON.stringify(text)}`);
  }
}

/** ROME's find_token_range: positions in the concatenation of the tokens' decoded strings. */
function romeFindTokenRange(tokens: string[], sub: string): [number, number] {
  const charLoc = tokens.join('').indexOf(sub);
  let loc = 0;
  let start = -1;
  for (let i = 0; i < tokens.length; i++) {
    loc += tokens[i].length;
    if (start < 0 && loc > charLoc) start = i;
    if (loc >= charLoc + sub.length) return [start, i + 1];
  }
  throw new Error('not found');
}

test('ids and token texts equal the reference forward.json of every golden model', () => {
  for (const model of GOLDEN_MODELS) {
    const tok = tokenizerOf(model);
    assert.equal(tok.vocabSize, 50257);
    assert.equal(tok.eosTokenId, 50256);
    const forward = JSON.parse(fs.readFileSync(golden(model, 'forward.json'), 'utf8')) as { prompts: ForwardPrompt[] };
    for (const p of forward.prompts) {
      const enc = tok.encode(p.prompt);
      assert.deepEqual(enc.ids, p.input_ids, `${model}: ${p.prompt}`);
      assert.deepEqual(enc.tokens, p.tokens, `${model}: ${p.prompt}`);
      assert.equal(tok.decode(enc.ids), p.prompt);
    }
  }
});

test('non-ASCII and whitespace texts give the ids of OpenAI’s reference GPT-2 encoder', () => {
  // Produced by the original encoder.py algorithm (Python `regex`) over these vocab/merges files.
  const cases: Array<[string, number[]]> = [
    ["Côte d'Ivoire is located in", [34, 27083, 660, 288, 6, 40, 13038, 557, 318, 5140, 287]],
    ['8½ was created in the country of', [23, 23141, 373, 2727, 287, 262, 1499, 286]],
    ['С.61. The domain of work of Alan Turing is', [140, 94, 13, 5333, 13, 383, 7386, 286, 670, 286, 12246, 39141, 318]],
    ['The language used by Andreĭ Stoi︠a︡nov is', [464, 3303, 973, 416, 10948, 128, 255, 22025, 72, 35266, 254, 64, 35266, 94, 37302, 318]],
    ['New Delhi: Author’s Press.', [3791, 12517, 25, 6434, 447, 247, 82, 4332, 13]],
    ['🤗 hi', [8582, 97, 245, 23105]],
    ['日本語', [33768, 98, 17312, 105, 45739, 252]],
    ['x\r\n\t  y  ', [87, 201, 198, 197, 220, 331, 220, 220]],
    ["it's they'll  2024 ", [270, 338, 484, 1183, 220, 48609, 220]],
  ];
  for (const [text, ids] of cases) {
    const enc = gpt2().encode(text);
    assert.deepEqual(enc.ids, ids, text);
    assert.equal(gpt2().decode(ids), text);
    assertCovers(enc, text);
  }
});

test('a tokenizer.json written from vocab.json + merges.txt encodes like the in-memory path', () => {
  const dir = tempDir();
  try {
    const vocab = JSON.parse(fs.readFileSync(golden('gpt2-tiny-trained', 'vocab.json'), 'utf8'));
    const merges = parseMergesTxt(fs.readFileSync(golden('gpt2-tiny-trained', 'merges.txt'), 'utf8'));
    assert.equal(merges.length, 50000);
    // No tokenizer_config.json here: the minimal-config path, eos found as <|endoftext|>.
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson(vocab, merges)));
    const fromJson = loadTokenizer(dir);
    assert.equal(fromJson.vocabSize, 50257);
    assert.equal(fromJson.eosTokenId, 50256);
    const prompts = samplePrompts();
    assert.ok(prompts.length >= 200);
    for (const text of prompts) assert.deepEqual(fromJson.encode(text), gpt2().encode(text), text);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('offsets: exact token texts on ASCII prompts, monotone cover on non-ASCII ones', () => {
  const tok = gpt2();
  for (const text of samplePrompts()) {
    const enc = tok.encode(text);
    assertCovers(enc, text);
    assert.equal(tok.decode(enc.ids), text);
    if (!isAscii(text)) continue;
    enc.offsets.forEach(([s, e], i) => {
      assert.equal(text.slice(s, e), enc.tokens[i], text);
      assert.deepEqual(tok.encode(text.slice(s, e)).ids, [enc.ids[i]], 'the span re-encodes to its token');
      if (i > 0) assert.equal(s, enc.offsets[i - 1][1], 'ASCII spans are contiguous');
    });
  }
});

test('offsets: a character split between tokens lies in the span of each of them', () => {
  const tok = gpt2();
  // 🤗 (2 UTF-16 units, 4 bytes) is spelled by three byte tokens; 日本語 by two tokens per character.
  assert.deepEqual(tok.encode('🤗 hi').offsets, [[0, 2], [0, 2], [0, 2], [2, 5]]);
  assert.deepEqual(tok.encode('日本語').offsets, [[0, 1], [0, 1], [1, 2], [1, 2], [2, 3], [2, 3]]);
  assert.deepEqual(tok.encode('Côte').offsets, [[0, 1], [1, 2], [2, 4]]);
  // A lone surrogate is encoded as U+FFFD's three bytes and still gets its one unit.
  assertCovers(tok.encode('a\ud800b'), 'a\ud800b');
  // <|endoftext|> in the text is the special token, its span the literal.
  const eot = tok.encode('a<|endoftext|>b');
  assert.deepEqual(eot.ids, [64, 50256, 65]);
  assert.deepEqual(eot.offsets, [[0, 1], [1, 14], [14, 15]]);
  assert.deepEqual(tok.encode(''), { ids: [], tokens: [], offsets: [] });
});

test('findSpan matches ROME find_token_range', () => {
  const tok = gpt2();
  const enc = tok.encode(SPACE);
  assert.deepEqual(tok.findSpan(enc, SPACE, 'The Space Needle'), [0, 4]);
  assert.deepEqual(tok.findSpan(enc, SPACE, 'Space Needle'), [1, 4]);
  assert.deepEqual(tok.findSpan(enc, SPACE, ' Space Needle'), [1, 4]);
  assert.deepEqual(tok.findSpan(enc, SPACE, 'Need'), [2, 3]);
  assert.deepEqual(tok.findSpan(enc, SPACE, 'the city'), [7, 9]);

  const twice = 'Paris is in France. Paris';
  const t2 = tok.encode(twice);
  assert.deepEqual(tok.findSpan(t2, twice, 'Paris'), [0, 1]);
  assert.deepEqual(tok.findSpan(t2, twice, 'Paris', 1), [t2.ids.length - 1, t2.ids.length]);

  // case 17870: a five-token subject in the middle of the prompt.
  const rec = counterfact.find((r) => r.case_id === 17870) as CounterFactRecord;
  const text = fill(rec);
  assert.equal(text, 'The language of Allegro Non Troppo was');
  const e = tok.encode(text);
  assert.deepEqual(tok.findSpan(e, text, rec.requested_rewrite.subject), [3, 8]);
  assert.deepEqual(e.tokens.slice(3, 8), [' Alleg', 'ro', ' Non', ' Tro', 'ppo']);

  // Same [b, e) as ROME wherever its decoded-string search is well defined.
  let compared = 0;
  for (const r of counterfact.slice(0, 300)) {
    const prompt = fill(r);
    const pe = tok.encode(prompt);
    if (pe.tokens.join('') !== prompt) continue; // a token holding part of a character decodes to U+FFFD
    assert.deepEqual(tok.findSpan(pe, prompt, r.requested_rewrite.subject), romeFindTokenRange(pe.tokens, r.requested_rewrite.subject), prompt);
    compared++;
  }
  assert.ok(compared > 250);
});

test('findSpan on a prompt without the subject is a bad-input error', () => {
  const tok = gpt2();
  const enc = tok.encode(SPACE);
  assert.throws(
    () => tok.findSpan(enc, SPACE, 'Eiffel Tower'),
    (e: unknown) => e instanceof LocusError && e.code === 'bad-input' && e.message === `the prompt "${SPACE}" does not contain the subject "Eiffel Tower"`,
  );
  assert.throws(() => tok.findSpan(enc, SPACE, 'The', 1), { code: 'bad-input' });
  assert.throws(() => tok.findSpan(enc, SPACE, ''), { code: 'bad-input' });
});

test('decode and tokenText', () => {
  const tok = gpt2();
  assert.equal(tok.decode([]), '');
  assert.equal(tok.tokenText(4687), ' Space');
  assert.equal(tok.tokenText(50256), '<|endoftext|>');
  // No clean-up: " ," stays as written.
  assert.equal(tok.decode(tok.encode('a , b .').ids), 'a , b .');
  assert.throws(() => tok.decode([50257]), { code: 'bad-input' });
  assert.throws(() => tok.tokenText(-1), { code: 'bad-input' });
});

test('a Metaspace tokenizer gets the offsets the Rust tokenizer reports', () => {
  const vocab: Record<string, number> = {};
  ['<unk>', '</s>', '▁', 'h', 'e', 'l', 'o', 'w', 'r', 'd', '▁h', '▁he', 'll', '▁hell', '▁hello', '▁w', 'or', '▁wor', '▁worl', '▁world']
    .forEach((t, i) => (vocab[t] = i));
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  const json = {
    added_tokens: [{ id: 1, content: '</s>', special: true }],
    normalizer: null,
    pre_tokenizer: metaspace,
    post_processor: null,
    decoder: metaspace,
    model: { type: 'BPE', unk_token: '<unk>', vocab, merges: ['▁ h', '▁h e', 'l l', '▁he ll', '▁hell o', '▁ w', 'o r', '▁w or', '▁wor l', '▁worl d'] },
  };
  const tok = createTokenizer(json, {}, 'test');
  assert.equal(tok.eosTokenId, 1);
  const text = 'hello  world';
  const enc = tok.encode(text);
  assert.deepEqual(enc.ids.map((id) => tok.tokenText(id).trim()), ['hello', '', 'world']);
  // Rust tokenizers 0.23.2 on this json: [[0,5],[5,6],[6,12]] and, with '</s>' inside, [[0,5],[5,9],[9,15]].
  assert.deepEqual(enc.offsets, [[0, 5], [5, 6], [6, 12]]);
  assert.deepEqual(tok.findSpan(enc, text, 'world'), [2, 3]);
  assert.deepEqual(tok.encode('hello</s> world').offsets, [[0, 5], [5, 9], [9, 15]]);
});

test('a folder without tokenizer files is a missing-tokenizer error', () => {
  const dir = tempDir();
  try {
    assert.throws(
      () => loadTokenizer(dir),
      (e: unknown) => e instanceof LocusError && e.code === 'missing-tokenizer' && e.message.startsWith(`${dir} has no tokenizer.json and no vocab.json + merges.txt`),
    );
    fs.writeFileSync(path.join(dir, 'vocab.json'), '{}');
    assert.throws(() => loadTokenizer(dir), { code: 'missing-tokenizer' }, 'vocab.json alone is not enough');
    fs.writeFileSync(path.join(dir, 'tokenizer.model'), '');
    assert.throws(() => loadTokenizer(dir), (e: unknown) => e instanceof LocusError && e.message.includes("only SentencePiece's tokenizer.model"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed tokenizer files are errors naming the file', () => {
  const dir = tempDir();
  const names = (file: string) => (e: unknown) => e instanceof LocusError && e.code === 'bad-config' && e.message.includes(path.join(dir, file));
  try {
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": {');
    assert.throws(() => loadTokenizer(dir), names('tokenizer.json'));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": {"type": "Nonsense"}}');
    assert.throws(() => loadTokenizer(dir), names('tokenizer.json'));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), 'not json');
    assert.throws(() => loadTokenizer(dir), names('tokenizer_config.json'));
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    fs.rmSync(path.join(dir, 'tokenizer_config.json'));
    fs.writeFileSync(path.join(dir, 'vocab.json'), '[1, 2');
    fs.writeFileSync(path.join(dir, 'merges.txt'), '#version: 0.2\na b\n');
    assert.throws(() => loadTokenizer(dir), names('vocab.json'));
    fs.writeFileSync(path.join(dir, 'vocab.json'), '{"a": 0, "b": 1, "ab": 2}');
    fs.writeFileSync(path.join(dir, 'merges.txt'), '#version: 0.2\na b c\n');
    assert.throws(() => loadTokenizer(dir), names('merges.txt'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('measure: load time and encode throughput (reported, not asserted)', () => {
  let t0 = performance.now();
  const tok = loadTokenizer(golden('gpt2-tiny-trained'));
  const loadMs = performance.now() - t0;
  const texts = counterfact.slice(0, 400).flatMap((r) => [fill(r), ...r.paraphrase_prompts, ...r.neighborhood_prompts]);
  let tokens = 0;
  t0 = performance.now();
  for (const t of texts) tokens += tok.encode(t).ids.length;
  const s = (performance.now() - t0) / 1000;
  console.log(`tokenizer load ${loadMs.toFixed(0)} ms; encode ${texts.length} texts, ${(tokens / s).toFixed(0)} tokens/s, ${((s / texts.length) * 1e6).toFixed(0)} µs/text`);
});
