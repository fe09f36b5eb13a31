/**
 * The README's Slurm recipe, read from README.md so that the test runs exactly what a researcher
 * copies: the fenced block after a `<!-- slurm-recipe:NAME` marker. The test changes only the study's
 * size (the values of --array, --cases, --methods, --layers), never the commands around them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/paths';

/** The fenced code block that follows `<!-- slurm-recipe:NAME` in README.md (its text, without the fences). */
export function readmeRecipe(name: string, readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')): string {
  const marker = `<!-- slurm-recipe:${name}`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no "${marker}" marker`);
  if (readme.indexOf(marker, at + 1) >= 0) throw new Error(`README.md has "${marker}" twice`);
  const m = /^[^\n]*\n```[a-z]*\n([\s\S]*?)\n```/.exec(readme.slice(at));
  if (!m) throw new Error(`no fenced block right after "${marker}" in README.md`);
  return m[1] + '\n';
}

export interface StudySize {
  readonly shards: number;
  readonly cases: string;
  readonly methods: string;
  readonly layers: string;
}

/** Replaces the one value of `flag` (`--flag value` or `--flag=value`); the README must have it exactly once. */
function setFlag(script: string, flag: string, value: string): string {
  const re = new RegExp(`(${flag}[ =])\\S+`, 'g');
  const hits = script.match(re) ?? [];
  if (hits.length !== 1) throw new Error(`the README's Slurm script should give ${flag} once (found ${hits.length})`);
  return script.replace(re, (_all, head: string) => head + value);
}

/** The README's job array with a smaller study: `shards` tasks, the given cases, methods and layers. */
export function shrinkStudy(script: string, size: StudySize): string {
  let s = setFlag(script, '--array', `0-${size.shards - 1}`);
  s = setFlag(s, '--cases', size.cases);
  s = setFlag(s, '--methods', size.methods);
  return setFlag(s, '--layers', size.layers);
}

/** The script's `study run` command as one line, without `--shard` and writing to `outDir`: the unsharded reference run. */
export function unshardedCommand(script: string, outDir: string): string {
  const lines = script.replace(/\s*\\\n\s*/g, ' ').split('\n').filter((l) => / study run /.test(l));
  if (lines.length !== 1) throw new Error(`the README's Slurm script should have one "study run" command (found ${lines.length})`);
  const withoutShard = lines[0].replace(/\s--shard[ =]\S+/, '');
  if (withoutShard === lines[0]) throw new Error('the README\'s "study run" command has no --shard');
  return setFlag(withoutShard, '--out', outDir);
}
