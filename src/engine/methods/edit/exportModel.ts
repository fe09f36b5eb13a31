import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocusError } from '../../errors';
import type { LoadedModel } from '../../model/model';
import { gpt2HfConfig, gpt2HfTensors } from '../../model/arch/exportGpt2';
import { writeSafetensors } from '../../model/safetensors';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt', 'special_tokens_map.json'];

/**
 * Writes the model with its current (edited) weights as a new Hugging Face folder. The source folder
 * is never written: `dir` must be a different, new or empty folder. Tokenizer files are copied.
 */
export function exportModel(model: LoadedModel, dir: string, provenance: Record<string, string> = {}): void {
  const out = path.resolve(dir);
  if (out === path.resolve(model.manifest.path)) throw new LocusError('bad-input', `refusing to write into the model's own folder ${out}: choose a new folder`);
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) throw new LocusError('bad-input', `${out} is not empty: choose a new or empty folder`);
  if (model.config.modelType !== 'gpt2') throw new LocusError('unsupported-architecture', `exporting ${model.config.modelType} models is not supported yet (gpt2 is)`);
  fs.mkdirSync(out, { recursive: true });
  writeSafetensors(path.join(out, 'model.safetensors'), gpt2HfTensors(model.config, model.param), { format: 'pt', ...provenance });
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(gpt2HfConfig(model.config), null, 2) + '\n');
  for (const f of TOKENIZER_FILES) {
    const src = path.join(model.manifest.path, f);
    if (fs.existsSync(src)) fs.copyFileSync(src, path.join(out, f));
  }
}
