import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bpeTokenizerJson, saveTokenizerJson, trainBpe } from '../../../src/engine/train/bpeTrainer';
import type { BpeResult } from '../../../src/engine/train/bpeTrainer';
import { GPT2_EOS } from '../../../src/engine/model/byteLevel';
import { createTokenizer, loadTokenizer, parseMergesTxt } from '../../../src/engine/model/tokenizer';
import type { LocusTokenizer } from '../../../src/engine/model/tokenizer';
import { LocusError } from '../../../src/engine/errors';
import { golden, sharedDir, tempDir } from '../../helpers/paths';
import { naiveTrain, referenceEncode } from './bpeReference';

interface CounterFactRecord {
  requested_rewrite: { prompt: string; subject: string; target_new: { str: string }; target_true: { str: string } };
  paraphrase_prompts: string[];
  neighborhood_prompts: string[];
  attribute_prompts: string[];
}

const DATA = path.join(sharedDir, 'data');
const records: CounterFactRecord[] = JSON.parse(fs.readFileSync(path.join(DATA, 'counterfact', 'counterfact_azhx_test_2191.json'), 'utf8'));
const filled = (r: CounterFactRecord): string => r.requested_rewrite.prompt.replace('{}', r.requested_rewrite.subject);
const wikiHead = (bytes: number): string => fs.readFileSync(path.join(DATA, 'wikitext-2-raw', 'wiki.valid.raw')).subarray(0, bytes).toString('utf8');

/** The first 300 records' prompts (~4k texts, many non-ASCII) + the first 200 KB of wiki.valid.raw, by line. */
const prompts = records
  .slice(0, 300)
  .flatMap((r) => [filled(r) + ' ' + r.requested_rewrite.target_true.str, ...r.paraphrase_prompts, ...r.neighborhood_prompts, ...r.attribute_prompts]);
const corpus = [...prompts, ...wikiHead(200_000).split('\n')];
const VOCAB = 2000;

let trained: BpeResult | undefined;
const progress: Array<[number, number]> = [];
function slice(): BpeResult {
  return (trained ??= trainBpe(corpus, { vocabSize: VOCAB, onProgress: (d, t) => progress.push([d, t]) }));
}

/** Saves `result` to a temporary folder and loads it back through the model loader. */
function roundTrip(result: BpeResult): LocusTokenizer {
  const dir = tempDir('locus-bpe-');
  try {
    saveTokenizerJson(dir, result, { modelMaxLength: 256 });
    return loadTokenizer(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const TRICKY = [
  '',
  'Côte d\'Ivoire is located in',
  'Zürich, Ærøskøbing, Łódź and Σωκράτης',
  '🤗 hi 👩‍👩‍👧‍👦 🇫🇷 x',
  '日本語のテキスト、中文。',
  'e\u0301 combining and \u200b zero width',
  'x\r\n\t  y  \n\n\n   \u00a0\u3000z   ',
  "it's they'll we'VE  2024 3.14159 ½",
  `two docs${GPT2_EOS}joined ${GPT2_EOS}`,
  '\u0000\u0001\u007f\u00ad control bytes',
  'aaaaaaaaaaa ababababab ........ !!!!!!!',
];

/** Deterministic random strings over ASCII, whitespace variants, Latin-1, CJK, emoji and combining marks. */
function fuzzTexts(count: number): string[] {
  const pools = [' \t\n\r\u00a0\u2003\u3000', 'abcXYZ019\'.,!?-_', 'éßøÆ¿\u00ad', '語中文テ', '😀🤗👩\u200d🇫🇷', '\u0301\u0308\u200b'];
  let seed = 12345;
  const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n;
  return Array.from({ length: count }, () => {
    let s = '';
    for (let k = rand(40); k > 0; k--) {
      const chars = Array.from(pools[rand(pools.length)]);
      s += chars[rand(chars.length)];
    }
    return s;
  });
}

test('vocabulary layout: GPT-2 byte ids, learned tokens in merge order, <|endoftext|> last', () => {
  const { vocab, merges } = slice();
  const entries = Object.entries(vocab).sort((x, y) => x[1] - y[1]);
  assert.equal(entries.length, VOCAB);
  entries.forEach(([, id], i) => assert.equal(id, i, 'ids are 0..N-1'));
  assert.equal(vocab[GPT2_EOS], VOCAB - 1);
  const gpt2 = JSON.parse(fs.readFileSync(golden('gpt2-tiny-trained', 'vocab.json'), 'utf8')) as Record<string, number>;
  const gpt2Bytes = Object.entries(gpt2).filter(([, id]) => id < 256);
  assert.equal(gpt2Bytes.length, 256);
  for (const [t, id] of gpt2Bytes) assert.equal(vocab[t], id, `byte symbol ${JSON.stringify(t)}`);
  // Each merge is of known tokens; new tokens appear in the order merges first produce them.
  let next = 256;
  for (const m of merges) {
    const [a, b] = m.split(' ');
    assert.ok(vocab[a] !== undefined && vocab[b] !== undefined, m);
    const id = vocab[a + b];
    assert.ok(id !== undefined && id <= next, m);
    if (id === next) next++;
  }
  assert.equal(next, VOCAB - 1, 'every learned token comes from a merge');
  assert.equal(new Set(merges).size, merges.length, 'no merge listed twice');
});

test('progress reports learned tokens against vocabSize - 257', () => {
  slice();
  assert.deepEqual(progress[0], [0, VOCAB - 257]);
  assert.deepEqual(progress[progress.length - 1], [VOCAB - 257, VOCAB - 257]);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i][0] >= progress[i - 1][0]);
});

test('the saved tokenizer loads and round-trips any text losslessly', () => {
  const tok = roundTrip(slice());
  assert.equal(tok.vocabSize, VOCAB);
  assert.equal(tok.eosTokenId, VOCAB - 1);
  for (const text of [...TRICKY, ...fuzzTexts(300), ...prompts.slice(0, 500)]) assert.equal(tok.decode(tok.encode(text).ids), text, text);
  assert.deepEqual(tok.encode(GPT2_EOS).ids, [VOCAB - 1]);
});

test('the loader encodes as the learned merges imply (encoder.py greedy by rank)', () => {
  const result = slice();
  const tok = createTokenizer(bpeTokenizerJson(result), {}, 'trained');
  const texts = [...prompts.filter((_, i) => i % 10 === 0), ...wikiHead(60_000).split('\n').slice(0, 100), ...TRICKY.filter((t) => !t.includes(GPT2_EOS)), ...fuzzTexts(100)];
  assert.ok(texts.length >= 300);
  for (const text of texts) assert.deepEqual(tok.encode(text).ids, referenceEncode(text, result.vocab, result.merges), text);
});

test('the reference encoder reproduces real GPT-2 ids (checks the check)', () => {
  const vocab = JSON.parse(fs.readFileSync(golden('gpt2-tiny-trained', 'vocab.json'), 'utf8')) as Record<string, number>;
  const merges = parseMergesTxt(fs.readFileSync(golden('gpt2-tiny-trained', 'merges.txt'), 'utf8'));
  const gpt2 = loadTokenizer(golden('gpt2-tiny-trained'));
  for (const text of [...prompts.slice(0, 40), ...TRICKY.slice(0, 8)]) assert.deepEqual(referenceEncode(text, vocab, merges), gpt2.encode(text).ids, text);
});

test('incremental pair counts give exactly the merges of a trainer that recounts everything', () => {
  // The naive trainer does not drop <|endoftext|> separators, so texts holding one are left out.
  const small = [...prompts.slice(0, 150), ...wikiHead(8_000).split('\n'), ...TRICKY.filter((t) => !t.includes(GPT2_EOS))];
  const byteIds = Object.fromEntries(Object.entries(slice().vocab).filter(([, id]) => id < 256));
  for (const minFrequency of [2, 1]) {
    const fast = trainBpe(small, { vocabSize: 700, minFrequency });
    assert.deepEqual(fast.merges, naiveTrain(small, byteIds, 700, minFrequency), `minFrequency ${minFrequency}`);
  }
});

test('training is deterministic', () => {
  const again = trainBpe(
    (function* () {
      yield* corpus;
    })(),
    { vocabSize: VOCAB },
  );
  assert.deepEqual(again.merges, slice().merges);
  assert.deepEqual(again.vocab, slice().vocab);
});

test('a highly repeated word becomes a single token', () => {
  const texts = [...wikiHead(20_000).split('\n'), ...Array.from({ length: 300 }, (_, i) => `item ${i} Zyxwvutsrq`)];
  const tok = roundTrip(trainBpe(texts, { vocabSize: 600 }));
  assert.equal(tok.encode(' Zyxwvutsrq').ids.length, 1);
  assert.equal(tok.tokenText(tok.encode(' Zyxwvutsrq').ids[0]), ' Zyxwvutsrq');
});

test('ties go to the smaller left id, then right id; training stops below minFrequency', () => {
  // Pairs (a,b), (c,d), (Ġ,c) all occur once; ids: a=64 < c=66 < Ġ=220.
  assert.deepEqual(trainBpe(['ab cd'], { vocabSize: 1000, minFrequency: 1 }).merges, ['a b', 'c d', 'Ġ cd']);
  // (a,b) occurs twice, then (Ġ,ab) only once.
  const r = trainBpe(['ab ab', 'cd'], { vocabSize: 1000 });
  assert.deepEqual(r.merges, ['a b']);
  assert.equal(Object.keys(r.vocab).length, 258);
});

test('tokenizer_config.json carries GPT-2 special tokens; no temporary files remain', () => {
  const dir = tempDir('locus-bpe-');
  try {
    const result = trainBpe(['ab ab'], { vocabSize: 300 });
    saveTokenizerJson(dir, result, { modelMaxLength: 128 });
    saveTokenizerJson(dir, result, { modelMaxLength: 128 }); // replacing existing files works too
    assert.deepEqual(fs.readdirSync(dir).sort(), ['tokenizer.json', 'tokenizer_config.json']);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')), {
      model_max_length: 128,
      eos_token: GPT2_EOS,
      bos_token: GPT2_EOS,
      unk_token: GPT2_EOS,
      add_prefix_space: false,
      tokenizer_class: 'GPT2Tokenizer',
    });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')), bpeTokenizerJson(result));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('abort and bad options are LocusErrors', () => {
  const isCode = (code: string) => (e: unknown) => e instanceof LocusError && e.code === code;
  const ac = new AbortController();
  ac.abort();
  assert.throws(() => trainBpe(corpus, { vocabSize: VOCAB, signal: ac.signal }), isCode('cancelled'));
  const mid = new AbortController();
  let calls = 0;
  const onProgress = (done: number): void => {
    calls++;
    if (done === 10) mid.abort();
  };
  assert.throws(() => trainBpe(corpus, { vocabSize: VOCAB, signal: mid.signal, onProgress }), isCode('cancelled'));
  assert.equal(calls, 11, 'stops at the first merge after the abort');
  assert.throws(() => trainBpe([], { vocabSize: 256 }), isCode('bad-input'));
  assert.throws(() => trainBpe([], { vocabSize: 1000.5 }), isCode('bad-input'));
  assert.throws(() => trainBpe([], { vocabSize: 1000, minFrequency: -1 }), isCode('bad-input'));
  assert.equal(Object.keys(trainBpe([], { vocabSize: 1000 }).vocab).length, 257, 'an empty corpus gives bytes + EOS');
});
