/**
 * Text corpora for the MLP key statistics of ROME/MEMIT: a corpus is a list of documents, and ROME's
 * `layer_stats` tokenizes each document on its own, truncated to the model's context (kmeng01/rome,
 * rome/tok_dataset.py `TokenizedDataset`), so where a corpus splits its text changes the statistic.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { readTextFile } from '../../files/read';
import { PyRandom } from './pyRandom';

export interface StatsCorpus {
  /** A short label, part of the cache file name (the sha256 of `texts` is what identifies it). */
  readonly name: string;
  /** One entry per document, in corpus order (the order sampling indexes). */
  readonly texts: readonly string[];
}

/** ROME's `layer_stats` calls `tally(..., random_sample=1)`: the seed of its document shuffle. */
export const ROME_SAMPLE_SEED = 1;

/** Lines of `raw` with their terminating "\n" (the last one may lack it), as Python's `for row in f`. */
function rowsOf(raw: string): string[] {
  const rows = raw.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  return rows.map((r) => r.replace(/\r\n$/, '\n'));
}

/**
 * One document per non-empty line, without its line break: how the golden references read
 * `stats_corpus.txt` (golden README, "How the reference computed C"; the reference's count of 40,413
 * tokens is reached only without the "\n"). Whitespace-only lines count as empty.
 */
export function corpusFromTextFile(file: string, name = path.basename(file)): StatsCorpus {
  // readTextFile drops a UTF-8 BOM (it would otherwise start the first document) and names the
  // file and the reason for every failure (absent, permission denied, a folder, a link loop).
  const texts = rowsOf(readTextFile(file, 'statistics corpus'))
    .map((r) => r.replace(/\n$/, ''))
    .filter((t) => t.trim() !== '');
  if (texts.length === 0) throw new LocusError('bad-input', `${file} has no non-empty line: nothing to collect statistics over`);
  return { name, texts };
}

const WIKITEXT_DIR = path.join('assets', 'data', 'wikitext-2-raw');
const WIKITEXT_FILES = ['wiki.valid.raw', 'wiki.test.raw'];

/** Walks up from this file to the package root looking for the bundled WikiText-2 folder. */
function wikitextDir(): string {
  for (let dir = __dirname; ; ) {
    const candidate = path.join(dir, WIKITEXT_DIR);
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (fs.existsSync(path.join(dir, 'package.json')) || up === dir) break;
    dir = up;
  }
  throw new LocusError('not-found', `the bundled WikiText-2 text (${WIKITEXT_DIR}) is not installed in this build: pass a corpus file`);
}

/**
 * The bundled WikiText-2 raw validation + test text, as Hugging Face `wikitext-2-raw-v1` rows: its
 * loading script yields one row per line of the file, keeping the line's "\n", and "" for
 * whitespace-only lines. Empty rows are dropped here: they have no tokens, so ROME's
 * `length_collation` skips them anyway; the only difference is which documents a `sampleSize` below
 * the corpus size draws (no difference at ROME's default of 100,000, above this corpus's ~6,600 rows).
 * ROME itself uses `wikipedia` 20200501.en (`mom2_dataset`), which is not redistributable offline;
 * WikiText is Wikipedia text too, so C has the same character, not the same values.
 */
export function defaultStatsCorpus(): StatsCorpus {
  const dir = wikitextDir();
  const texts: string[] = [];
  for (const f of WIKITEXT_FILES) {
    for (const row of rowsOf(fs.readFileSync(path.join(dir, f), 'utf8'))) if (row.trim() !== '') texts.push(row);
  }
  return { name: 'wikitext-2-raw-valid+test', texts };
}

/** sha256 of the documents, each prefixed by its UTF-8 length so no two lists hash alike. */
export function corpusSha256(corpus: StatsCorpus): string {
  const h = crypto.createHash('sha256');
  for (const t of corpus.texts) h.update(`${Buffer.byteLength(t, 'utf8')}:`).update(t, 'utf8');
  return h.digest('hex');
}

/**
 * The documents ROME's `tally` visits, in its order: `FixedRandomSubsetSampler(dataset,
 * seed=1, end=sample_size)` shuffles all indices with Python's `random.Random(1)` and keeps the
 * first `sample_size` (clamped to the corpus size, with a warning in ROME). So below the corpus size
 * the sample is a fixed pseudorandom subset, not the first N documents; at or above it, every
 * document (shuffled, which changes the sum only by rounding).
 */
export function sampleDocuments(nDocs: number, sampleSize: number, seed = ROME_SAMPLE_SEED): number[] {
  const order = Array.from({ length: nDocs }, (_, i) => i);
  new PyRandom(seed).shuffle(order);
  return order.slice(0, Math.min(nDocs, sampleSize));
}
