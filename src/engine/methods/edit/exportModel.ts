import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import { gpt2HfConfig } from '../../model/arch/exportGpt2';
import { hfTensors } from '../../model/arch/exportHf';
import { adapterFor } from '../../model/arch/index';
import { writeSafetensors } from '../../model/safetensors';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json'];

/**
 * Writes the model with its current (edited) weights as a new Hugging Face folder. The source folder
 * is never written: `dir` must be a different, new or empty folder. Any supported architecture (the
 * adapter's table inverted); config.json and the tokenizer files are copied.
 */
export function exportModel(model: LoadedModel, dir: string, provenance: Record<string, string> = {}): void {
  const out = path.resolve(dir);
  if (out === path.resolve(model.manifest.path)) throw new LocusError('bad-input', `refusing to write into the model's own folder ${out}: choose a new folder`);
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new LocusError('bad-input', `${out} is not empty: choose a new or empty folder`);
  const tensors = hfTensors(adapterFor(model.config.modelType), model.config, model.param);
  fs.mkdirSync(out, { recursive: true });
  writeSafetensors(path.join(out, 'model.safetensors'), tensors, { format: 'pt', ...provenance });
  // Edits never change the architecture: the source's config.json is the new folder's (every field kept).
  const config = path.join(model.manifest.path, 'config.json');
  if (fs.existsSync(config)) fs.copyFileSync(config, path.join(out, 'config.json'));
  else if (model.config.modelType === 'gpt2') fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(gpt2HfConfig(model.config), null, 2) + '\n');
  else throw new LocusError('not-found', `${config} is missing: cannot write the new folder's config.json`);
  for (const f of TOKENIZER_FILES) {
    const src = path.join(model.manifest.path, f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(out, f));
  }
}
