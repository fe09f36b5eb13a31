/**
 * ROME's and MEMIT's published second-moment statistics (`--stats-dir`): the files their `layer_stats`
 * writes and their authors publish under `data/stats/<model>/wikipedia_stats/` (kmeng01/rome,
 * rome/layer_stats.py: `{ds_name}_stats/{layer_name}_{precision}_{'-'.join(to_collect)}_{sample_size}.npz`,
 * saved by util/runningstats.py `tally` as `np.savez(**stat.state_dict())`).
 *
 * Keys: `mom2.mom2` (float32 [d, d], the SUM of k kᵀ over every token), `mom2.count` (int64 tokens),
 * `mom2.constructor` (a class name) and `sample_size` (the requested mom2_n_samples). C = mom2 / count,
 * as `SecondMoment.moment()`, in float32 as the reference divides (and as statsCache.ts returns C).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { fsError } from '../../files/read';
import type { ModelConfig } from '../../model/config';
import { adapterFor } from '../../model/arch/index';
import { NpzArchive } from './npz';
import type { NpyDtype } from './npy';
import { dataBytes, elementCount, expectDtype, npyValues, parseNpyHeader } from './npy';
import type { SecondMoment } from './secondMoment';

/**
 * ROME's name for the module whose input is layer `layer`'s key k: the Hugging Face name of the MLP's
 * output projection in the family's weight table (model/arch/*.ts), without `.weight` — ROME's
 * `rewrite_module_tmp` (hparams/ROME/gpt2-xl.json `transformer.h.{}.mlp.c_proj`, gpt-j-6B.json
 * `transformer.h.{}.mlp.fc_out`), and for the other families the name EasyEdit's hparams use
 * (`model.layers.{}.mlp.down_proj`, `gpt_neox.layers.{}.mlp.dense_4h_to_h`).
 */
export function keyModuleName(cfg: ModelConfig, layer: number): string {
  const param = `blocks.${layer}.mlp.W_out`;
  const spec = adapterFor(cfg.modelType).params(cfg).find((p) => p.name === param);
  if (!spec) throw new LocusError('bad-input', `layer ${layer} is outside 0..${cfg.n_layers - 1}`);
  return spec.hf.replace(/\.weight$/, '');
}

/** The folder ROME's layer_stats writes a dataset's files to. */
const DATASET_FOLDER = 'wikipedia_stats';

/** Fails early (before a model loads) when `dir` is not a readable folder. */
export function checkStatsDir(dir: string, flag = '--stats-dir'): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw fsError(e, dir, `${flag} folder`);
  }
  if (!st.isDirectory()) throw new LocusError('bad-input', `${flag} ${dir} is a file; give the folder that holds ${DATASET_FOLDER}/ (ROME's data/stats/<model>)`);
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The statistics file for `layer` in `dir` (looked for in `dir/wikipedia_stats/`, then in `dir` itself),
 * or undefined. Any sample size N in the name is accepted when one file matches; with several, the one
 * whose N is `preferredN` (the hparams' mom2_n_samples); several and none of them N: an error naming them.
 */
export function findPublishedStats(dir: string, cfg: ModelConfig, layer: number, preferredN: number | undefined): string | undefined {
  const module = keyModuleName(cfg, layer);
  const pattern = new RegExp(`^${escapeRegExp(module)}_(float32|float64)_mom2(?:_(\\d+))?\\.npz$`);
  for (const folder of [path.join(dir, DATASET_FOLDER), dir]) {
    let names: string[];
    try {
      names = fs.readdirSync(folder);
    } catch {
      continue;
    }
    const found = names.map((n) => ({ n, m: pattern.exec(n) })).filter((x) => x.m !== null);
    if (found.length === 0) continue;
    if (found.length === 1) return path.join(folder, found[0].n);
    const preferred = found.filter((x) => x.m![2] !== undefined && Number(x.m![2]) === preferredN);
    if (preferred.length === 1) return path.join(folder, preferred[0].n);
    throw new LocusError(
      'bad-input',
      `${folder} holds ${found.length} statistics files for layer ${layer} (${found.map((x) => x.n).join(', ')}) and none for mom2_n_samples ${preferredN}: keep one, or set mom2_n_samples in --hparams`,
    );
  }
  return undefined;
}

/** One published statistic, checked and divided: C with the file's token count and requested sample size. */
export interface PublishedMoment extends SecondMoment {
  readonly file: string;
  readonly sampleSize?: number;
}

/** An array's header and values, its dtype one of `allowed`. */
function readArray(npz: NpzArchive, key: string, allowed: readonly NpyDtype[]): { shape: readonly number[]; values: Float64Array | Float32Array } {
  const what = `${npz.file}: ${key}`;
  const bytes = npz.read(key);
  const h = parseNpyHeader(bytes, what);
  const dtype = expectDtype(h, allowed, what);
  const need = dataBytes(h, dtype);
  if (bytes.length - h.dataOffset !== need) throw new LocusError('bad-input', `${what} has ${bytes.length - h.dataOffset} data bytes, its shape (${h.shape.join(', ')}) needs ${need}`);
  return { shape: h.shape, values: npyValues(bytes.subarray(h.dataOffset), dtype, what) };
}

/** A scalar integer (shape () or (1,)) stored as int64 or an integral float64. */
function readCount(npz: NpzArchive, key: string): number {
  const { shape, values } = readArray(npz, key, ['<i8', '<f8']);
  if (elementCount(shape) !== 1 || !Number.isInteger(values[0])) throw new LocusError('bad-input', `${npz.file}: ${key} must be one integer, got shape (${shape.join(', ')}) value ${values[0]}`);
  return values[0];
}

/**
 * Reads a ROME-format statistics file for a layer whose keys have `dim` entries (the model's d_mlp):
 * checks dtype, shape [dim, dim], count > 0, finite values and a non-negative diagonal (a sum of
 * squares), and returns C = mom2 / count rounded to float32. Any defect: one LocusError line.
 */
export function readPublishedStats(file: string, dim: number): PublishedMoment {
  const npz = NpzArchive.open(file);
  try {
    for (const key of ['mom2.mom2', 'mom2.count']) {
      if (!npz.has(key)) throw new LocusError('bad-input', `${file} has no ${key}: not a ROME/MEMIT second-moment file (it holds ${npz.keys().join(', ') || 'nothing'})`);
    }
    const count = readCount(npz, 'mom2.count');
    if (count <= 0) throw new LocusError('bad-input', `${file}: mom2.count is ${count}; a statistic over no tokens cannot be used`);
    // sample_size is informational (the requested N); a None saved as a pickled object is simply not reported.
    let sampleSize: number | undefined;
    try {
      if (npz.has('sample_size')) sampleSize = readCount(npz, 'sample_size');
    } catch {
      sampleSize = undefined;
    }
    const { shape, values } = readArray(npz, 'mom2.mom2', ['<f4', '<f8']);
    if (shape.length !== 2 || shape[0] !== dim || shape[1] !== dim) {
      throw new LocusError('bad-input', `${file}: mom2.mom2 has shape (${shape.join(', ')}), this model's layer needs (${dim}, ${dim}) (its d_mlp): a file of another model?`);
    }
    const mom2 = new Float64Array(dim * dim);
    for (let i = 0; i < mom2.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) throw new LocusError('bad-input', `${file}: mom2.mom2 holds ${v} at [${Math.floor(i / dim)}, ${i % dim}]; statistics must be finite`);
      mom2[i] = Math.fround(v / count);
    }
    for (let i = 0; i < dim; i++) {
      if (mom2[i * dim + i] < 0) throw new LocusError('bad-input', `${file}: mom2.mom2 has a negative diagonal entry at [${i}, ${i}]; a sum of k kᵀ cannot`);
    }
    return { file, count, dim, mom2, sampleSize };
  } finally {
    npz.close();
  }
}
