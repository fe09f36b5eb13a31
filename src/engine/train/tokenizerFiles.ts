/**
 * Writes a trained BPE as the Hugging Face files our loader (model/tokenizer.ts) reads:
 * `tokenizer.json` (GPT-2's layout, via gpt2TokenizerJson) and `tokenizer_config.json`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTextAtomic } from '../files/write';
import { GPT2_EOS, gpt2TokenizerJson } from '../model/byteLevel';
import type { BpeResult } from './bpeTrainer';

export interface SaveTokenizerOptions {
  /** The model's context length (its n_positions), recorded as model_max_length. */
  modelMaxLength: number;
}

/** The tokenizer.json object of a trained BPE: byte-level BPE with `<|endoftext|>` as its special token. */
export function bpeTokenizerJson(result: BpeResult): Record<string, unknown> {
  return gpt2TokenizerJson(result.vocab, result.merges);
}

/** GPT-2's tokenizer_config.json: every special role is `<|endoftext|>`, no prefix space. */
export function bpeTokenizerConfig(opts: SaveTokenizerOptions): Record<string, unknown> {
  return {
    model_max_length: opts.modelMaxLength,
    eos_token: GPT2_EOS,
    bos_token: GPT2_EOS,
    unk_token: GPT2_EOS,
    add_prefix_space: false,
    tokenizer_class: 'GPT2Tokenizer',
  };
}

/**
 * Writes `tokenizer.json` and `tokenizer_config.json` into `folder` (created if absent). Each file is
 * replaced atomically (temp file in the same folder, fsync, rename), so a reader sees the old or the
 * new file, never a torn one; the pair is written tokenizer.json first.
 */
export function saveTokenizerJson(folder: string, result: BpeResult, opts: SaveTokenizerOptions): void {
  if (!Number.isInteger(opts.modelMaxLength) || opts.modelMaxLength <= 0) {
    throw new Error(`saveTokenizerJson: modelMaxLength must be a positive integer, got ${opts.modelMaxLength}`);
  }
  fs.mkdirSync(folder, { recursive: true });
  writeTextAtomic(path.join(folder, 'tokenizer.json'), JSON.stringify(bpeTokenizerJson(result), null, 2) + '\n');
  writeTextAtomic(path.join(folder, 'tokenizer_config.json'), JSON.stringify(bpeTokenizerConfig(opts), null, 2) + '\n');
}

