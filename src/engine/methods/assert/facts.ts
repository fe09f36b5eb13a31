/**
 * The facts file of `locus assert` (CONTRACTS.md, "Next"): JSON lines
 * `{ "prompt", "expect", "minProb"?, "maxRank"? (default 1), "forbid"?, "protocol"? }`.
 * Blank lines and lines starting with `#` are skipped (comments in a CI file). A malformed line is
 * bad input naming its line number: a CI job must not pass because a check could not be read.
 */
import { LocusError } from '../../errors';

/**
 * What is scored. `first-token` (default; as `locus eval`'s rewrite and ROME's probability
 * comparison): the expected answer's first token after the prompt — its probability and its rank in
 * the next-token distribution. `sequence`: the whole answer teacher-forced (the product of its
 * tokens' probabilities, the seed paper's scoring); its rank is the worst rank of its tokens, so
 * `maxRank` 1 means greedy decoding produces the answer.
 */
export type AssertProtocol = 'first-token' | 'sequence';
export const ASSERT_PROTOCOLS: readonly AssertProtocol[] = ['first-token', 'sequence'];

export interface FactCheck {
  /** 1-based line number in the facts file. */
  readonly line: number;
  readonly prompt: string;
  readonly expect: string;
  readonly minProb?: number;
  readonly maxRank: number;
  readonly forbid: readonly string[];
  readonly protocol: AssertProtocol;
}

const KEYS = new Set(['prompt', 'expect', 'minProb', 'maxRank', 'forbid', 'protocol']);

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

function parseLine(text: string, line: number, where: string): FactCheck {
  const bad = (why: string): LocusError => new LocusError('bad-input', `${where}:${line}: ${why}`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('each line must be a JSON object { "prompt", "expect", ... }');
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) throw bad(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; keys: ${[...KEYS].join(', ')}`);
  if (!nonEmptyString(o.prompt)) throw bad('"prompt" must be a non-empty string');
  if (!nonEmptyString(o.expect)) throw bad('"expect" must be a non-empty string');
  if (o.minProb !== undefined && (typeof o.minProb !== 'number' || !(o.minProb >= 0 && o.minProb <= 1))) throw bad(`"minProb" must be a number from 0 to 1 (got ${JSON.stringify(o.minProb)})`);
  if (o.maxRank !== undefined && (typeof o.maxRank !== 'number' || !Number.isInteger(o.maxRank) || o.maxRank < 1)) throw bad(`"maxRank" must be an integer ≥ 1 (got ${JSON.stringify(o.maxRank)})`);
  if (o.forbid !== undefined && (!Array.isArray(o.forbid) || !o.forbid.every(nonEmptyString))) throw bad('"forbid" must be an array of non-empty strings');
  if (o.protocol !== undefined && !ASSERT_PROTOCOLS.includes(o.protocol as AssertProtocol)) throw bad(`"protocol" must be one of ${ASSERT_PROTOCOLS.join(', ')} (got ${JSON.stringify(o.protocol)})`);
  return {
    line,
    prompt: o.prompt,
    expect: o.expect,
    minProb: o.minProb as number | undefined,
    maxRank: (o.maxRank as number | undefined) ?? 1,
    forbid: (o.forbid as string[] | undefined) ?? [],
    protocol: (o.protocol as AssertProtocol | undefined) ?? 'first-token',
  };
}

/** Parses a facts file's text; `where` names it in errors. An empty file is bad input (nothing would be checked). */
export function parseFactsFile(text: string, where: string): FactCheck[] {
  const checks: FactCheck[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    checks.push(parseLine(s, i + 1, where));
  });
  if (checks.length === 0) throw new LocusError('bad-input', `${where} holds no facts: give one JSON object per line, e.g. { "prompt": "The Eiffel Tower is in", "expect": " Paris" }`);
  return checks;
}
