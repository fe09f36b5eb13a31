import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import { assertFiniteArray } from '../../files/finite';
import { fsErrorMessage } from '../../files/read';
import { checkDirTarget } from '../../files/writeTarget';
import type { LoadedModel } from '../../model/model';
import { FAMILIES } from '../../model/arch/families';
import { hfTensors } from '../../model/arch/exportHf';
import { adapterFor } from '../../model/arch/index';
import { writeSafetensorsStreaming } from '../../model/safetensors';
import type { TensorToWrite } from '../../model/safetensors';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json'];

/** The hidden sibling an export of `out` is built in: `.<name>.locus-partial-<pid>`. */
const PARTIAL = '.locus-partial-';
export const partialDirOf = (out: string, pid = process.pid): string => path.join(path.dirname(out), `.${path.basename(out)}${PARTIAL}${pid}`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes partial exports of `out` left by killed processes (a live exporter's folder is left alone). */
function removeStalePartials(out: string): void {
  const prefix = `.${path.basename(out)}${PARTIAL}`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(out));
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) continue;
    fs.rmSync(path.join(path.dirname(out), n), { recursive: true, force: true });
  }
}

/** fsync a file or folder (a folder's entry list: the renames and new names in it survive a crash). */
function fsyncPath(p: string, folder = false): void {
  // Windows cannot open a folder for fsync (and NTFS orders its metadata itself).
  if (folder && process.platform === 'win32') return;
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function copyDurably(src: string, dst: string): void {
  fs.copyFileSync(src, dst);
  // copyFile keeps the source's mode: a read-only source (a shared cache) would give the user a new
  // folder they cannot edit. The export is theirs: owner read-write, like the weights written beside it.
  fs.chmodSync(dst, 0o644);
  fsyncPath(dst);
}

/**
 * The HF tensors of the model's current weights, each made (the adapter's table inverted for just that
 * tensor), checked for NaN/Inf and written one at a time: an export holds one tensor beside the model,
 * not a second copy of it (issue 17). A lean model forgets the float32 values it read for a tensor once
 * it is written (`LoadedModel.forget`). A NaN/Inf aborts the write before the folder appears.
 */
function streamedHfTensors(model: LoadedModel): TensorToWrite[] {
  const adapter = adapterFor(model.config.modelType);
  const specs = adapter.params(model.config);
  const names = [...new Set(specs.map((s) => s.hf))];
  return names.map((hf) => {
    const parts = specs.filter((s) => s.hf === hf);
    return {
      name: hf,
      shape: parts[0].hfShape,
      produce: () => {
        const [{ tensor }] = hfTensors({ ...adapter, params: () => parts }, model.config, model.param);
        assertFiniteArray(`weight ${hf} of the model to export`, tensor.data, 'nothing was written; the edit or the loaded weights are broken');
        for (const s of parts) model.forget?.(s.name);
        return tensor;
      },
    };
  });
}

export interface ExportOptions {
  /** Names the target in errors (the CLI's `--save`); default "export folder". */
  readonly flag?: string;
}

/**
 * Writes the model with its current (edited) weights as a new Hugging Face folder. The source folder
 * is never written: `dir` must be a different, new or empty folder, outside the model's folder. Any
 * supported architecture (the adapter's table inverted); config.json and the tokenizer files are copied.
 *
 * Atomic: everything is written into a hidden sibling `.<name>.locus-partial-<pid>`, each file and the
 * folder fsynced, and the folder renamed onto `dir` at the end. A process killed at any point leaves
 * either no `dir` (an empty one if it existed before) or the complete model, never a folder that looks
 * like a model but lacks its tokenizer. The next export into `dir` removes a killed run's partial sibling.
 * Weights with NaN or Inf are refused (a LocusError naming the tensor) before anything is written.
 */
export function exportModel(model: LoadedModel, dir: string, provenance: Record<string, string> = {}, opts: ExportOptions = {}): void {
  const flag = opts.flag ?? 'export folder';
  const out = checkDirTarget(dir, flag, { mustBeEmpty: true, modelDir: model.manifest.path });
  const tensors = streamedHfTensors(model);
  const config = path.join(model.manifest.path, 'config.json');
  const hasConfig = fs.existsSync(config);
  const writeConfig = FAMILIES[model.config.modelType].hfConfig;
  if (!hasConfig && !writeConfig) throw new LocusError('not-found', `${config} is missing: cannot write the new folder's config.json`);

  const parent = path.dirname(out);
  const tmp = partialDirOf(out);
  try {
    fs.mkdirSync(parent, { recursive: true });
    removeStalePartials(out);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
    writeSafetensorsStreaming(path.join(tmp, 'model.safetensors'), tensors, { format: 'pt', ...provenance });
    // Edits never change the architecture: the source's config.json is the new folder's (every field kept).
    if (hasConfig) copyDurably(config, path.join(tmp, 'config.json'));
    else {
      fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(writeConfig!(model.config), null, 2) + '\n');
      fsyncPath(path.join(tmp, 'config.json'));
    }
    for (const f of TOKENIZER_FILES) {
      const src = path.join(model.manifest.path, f);
      if (fs.existsSync(src)) copyDurably(src, path.join(tmp, f));
    }
    fsyncPath(tmp, true);
    // rename(2) replaces an empty folder atomically on Linux and macOS, but not on Windows, and an
    // empty target is what checkDirTarget allowed: remove it just before, re-checking it is still empty.
    if (fs.existsSync(out)) {
      if (fs.readdirSync(out).length > 0) throw new LocusError('bad-input', `${flag} ${dir} is no longer empty (something wrote into it during the export): choose a new or empty folder`);
      fs.rmdirSync(out);
    }
    fs.renameSync(tmp, out);
    fsyncPath(parent, true);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (e instanceof LocusError) throw e;
    throw new LocusError('io', fsErrorMessage(e, dir, flag));
  }
}
