import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** A usage error: printed as one line with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parses a subcommand's flags strictly: unknown flags and missing values are usage errors. */
export function parseFlags<T extends OptionSpec>(argv: string[], options: T, command: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see "locus ${command} --help")`);
  }
}

export function intFlag(value: string | undefined, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min} (got "${value}")`);
  return n;
}

export function requireFlag(value: string | undefined, name: string, command: string): string {
  if (value === undefined) throw new UsageError(`--${name} is required (see "locus ${command} --help")`);
  return value;
}
