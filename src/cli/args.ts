import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** A usage error: printed as one line with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** A value that starts with a dash but is a number ("-1", "-0.5", "-1e3", "-Infinity"). */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/**
 * `--layer -1` would be refused by parseArgs as "ambiguous" (the value looks like a flag). A negative
 * number after a string flag is that flag's value: join them as `--layer=-1`, so the flag's own
 * validation says what is wrong with the number.
 */
function joinNegativeValues(argv: readonly string[], options: OptionSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    const next = argv[i + 1];
    // An empty value ("--model ''") is also a value: its flag's check says it is empty.
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && (NEGATIVE_NUMBER.test(next) || next === '')) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Parses a subcommand's flags strictly: unknown flags and missing values are usage errors. */
export function parseFlags<T extends OptionSpec>(argv: string[], options: T, command: string) {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see "locus ${command} --help")`);
  }
}

/** The largest integer a flag takes unless it says otherwise: beyond it, doubles lose integers. */
const MAX_INT = Number.MAX_SAFE_INTEGER;

/** An integer flag in [min, max]; anything else (text, fractions, out of range) is a usage error. */
export function intFlag(value: string | undefined, name: string, fallback: number, min = 1, max = MAX_INT): number {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === MAX_INT ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} must be an integer ${range} (got "${value}")`);
  }
  return n;
}

/** A finite number flag in [min, max]. */
export function numberFlag(value: string | undefined, name: string, fallback: number | undefined, min: number, max = Number.MAX_VALUE): number | undefined {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max} (got "${value}")`);
  return n;
}

export function requireFlag(value: string | undefined, name: string, command: string): string {
  if (value === undefined) throw new UsageError(`--${name} is required (see "locus ${command} --help")`);
  return value;
}
