/**
 * What the e2e's Llama-family flow needs outside the UI: a fake Hugging Face cache holding
 * llama-tiny-random (test/helpers/fakeHfCache.ts), a one-record CounterFact file with the golden's traced
 * fact, a small statistics corpus for ROME, the workspace settings pointing Locus at them, and the
 * independent references the UI's numbers are checked against (the golden's forward.json and
 * trace_space_needle.json, computed by PyTorch from HF's semantics: ../shared/golden/README.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildFakeHfCache, FAKE_REPOS } from '../../helpers/fakeHfCache';
import { golden, repoRoot } from '../../helpers/paths';

export const LLAMA_REPO = FAKE_REPOS.llama;
export const LLAMA_GOLDEN = 'llama-tiny-random';
/** A case id the bundled sample does not use, so the panel is a fresh one. */
export const LLAMA_CASE_ID = 990001;

/**
 * The golden trace's prompt as a CounterFact record, with the families test's edit (test/model/
 * families.golden.test.ts: ROME at layer 1 raises log p(" Paris") on this random model).
 */
const RECORD = {
  case_id: LLAMA_CASE_ID,
  pararel_idx: 0,
  requested_rewrite: { prompt: '{} is located in the city of', relation_id: 'P131', subject: 'The Space Needle', target_new: { str: 'Paris', id: 'Q90' }, target_true: { str: 'Seattle', id: 'Q5083' } },
  paraphrase_prompts: ['Where is The Space Needle? It is in'],
  neighborhood_prompts: ['The Eiffel Tower is located in the city of'],
  attribute_prompts: [],
  generation_prompts: ['The Space Needle is located in the city of'],
};

export interface LlamaFixture {
  /** The fake hub cache (models--org--name/…). */
  readonly cacheDir: string;
  /** The one-record CounterFact file. */
  readonly datasetFile: string;
  remove(): void;
}

/**
 * Writes the cache, the dataset and the statistics corpus under `dir`, and the workspace settings
 * (`locus.huggingFaceCache`, `locus.statsCorpus`, `locus.statsCacheDir`) into `workspace`/.vscode/settings.json.
 */
export function writeLlamaFixture(dir: string, workspace: string): LlamaFixture {
  const cacheDir = path.join(dir, 'hub');
  fs.mkdirSync(cacheDir, { recursive: true });
  buildFakeHfCache(cacheDir);
  const datasetFile = path.join(dir, 'space-needle-counterfact.json');
  fs.writeFileSync(datasetFile, JSON.stringify([RECORD], null, 2));
  // ROME's key statistics over 300 CounterFact statements (as the families test does): full rank for the
  // 64-wide MLP keys and seconds to compute, where the default WikiText-2 takes a minute on this machine.
  const sample = JSON.parse(fs.readFileSync(path.join(repoRoot, 'assets', 'data', 'counterfact_sample.json'), 'utf8')) as Array<typeof RECORD>;
  const corpusFile = path.join(dir, 'stats-corpus.txt');
  const texts = sample.slice(0, 300).map((r) => r.requested_rewrite.prompt.replace('{}', r.requested_rewrite.subject) + ' ' + r.requested_rewrite.target_true.str + '. ' + r.paraphrase_prompts.join(' '));
  fs.writeFileSync(corpusFile, texts.map((t) => t.replace(/\s+/g, ' ')).join('\n') + '\n');
  const settings = path.join(workspace, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(settings), { recursive: true });
  // The statistics cache stays in this folder too, out of the user's ~/.cache/locus.
  const locus = { 'locus.huggingFaceCache': cacheDir, 'locus.statsCorpus': corpusFile, 'locus.statsCacheDir': path.join(dir, 'stats-cache') };
  fs.writeFileSync(settings, JSON.stringify(locus, null, 2));
  return { cacheDir, datasetFile, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

interface GoldenTrace {
  prompt: string;
  subject: string;
  samples: number;
  input_tokens: string[];
  answer: string;
  clean_prob: number;
  runs: Array<{ kind: 'mlp' | 'attn' | null; window: number | null; scores: number[][]; low_score: number; high_score: number }>;
}

export const goldenTrace = (): GoldenTrace => JSON.parse(fs.readFileSync(golden(LLAMA_GOLDEN, 'trace_space_needle.json'), 'utf8')) as GoldenTrace;

/** The reference grid the panel shows for `kind` (hidden: no window; mlp/attn: `window` restored layers). */
export function goldenGrid(trace: GoldenTrace, kind: 'hidden' | 'mlp' | 'attn', window: number): number[][] {
  const run = trace.runs.find((r) => (kind === 'hidden' ? r.kind === null : r.kind === kind && r.window === window));
  if (!run) throw new Error(`trace_space_needle.json has no ${kind} run with window ${window}`);
  return run.scores;
}

/** log p(token | the golden's first prompt), from forward.json's last-position logits and tokenizer.json's vocabulary. */
export function goldenLogprob(token: string): number {
  const ref = JSON.parse(fs.readFileSync(golden(LLAMA_GOLDEN, 'forward.json'), 'utf8')) as { prompts: Array<{ prompt: string; logits_last: number[] }> };
  const first = ref.prompts[0];
  if (first.prompt !== RECORD.requested_rewrite.prompt.replace('{}', RECORD.requested_rewrite.subject)) throw new Error(`forward.json's first prompt is "${first.prompt}"`);
  const vocab = (JSON.parse(fs.readFileSync(golden(LLAMA_GOLDEN, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
  // Byte-level BPE: a leading space is "Ġ".
  const id = vocab[token.replace(/^ /, 'Ġ')];
  if (id === undefined) throw new Error(`"${token}" is not one token of ${LLAMA_GOLDEN}'s vocabulary`);
  const logits = first.logits_last;
  const max = Math.max(...logits);
  const logSumExp = max + Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0));
  return logits[id] - logSumExp;
}
