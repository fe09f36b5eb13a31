/**
 * Checks on everything an edit is asked to do, in the engine so the CLI and the worker (the
 * extension's forms) reach the same one-line errors before any model work: the requests, the
 * context templates, the seed and the editing noise. Nothing here is silently dropped or coerced:
 * `paraphrase_prompts: "x"` used to vanish and `target_new == target_true` reported rewrite 0.999.
 */
import { LocusError } from '../../errors';
import type { FactCase } from '../problems/problems';

/** RandomState and the template sampler take 32-bit unsigned seeds. */
export const MAX_EDIT_SEED = 2 ** 32 - 1;
/**
 * σ of the subject noise, in the units of the token embeddings (the seed paper uses 3× their
 * standard deviation, ~0.1–0.5 for GPT-2). Far above any meaningful value, far below float32 trouble.
 */
export const MAX_EDITING_NOISE = 1000;

const bad = (where: string, what: string): LocusError => new LocusError('bad-config', `${where}: ${what}`);
const kind = (v: unknown): string => (Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

/** `{ str }` or a bare string (the golden oracle's request files use both). */
function targetOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { str?: unknown }).str === 'string') return (v as { str: string }).str;
  return undefined;
}

function promptList(v: unknown, key: string, where: string): readonly string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw bad(where, `"${key}" must be a list of prompt strings, not ${kind(v)}`);
  const i = v.findIndex((x) => typeof x !== 'string' || x.trim() === '');
  if (i >= 0) throw bad(where, `"${key}"[${i}] must be a non-empty prompt string, not ${typeof v[i] === 'string' ? 'an empty one' : kind(v[i])}`);
  return v as string[];
}

/** Throws a LocusError (naming `where`, e.g. "request 0") when a case cannot be edited as asked. */
export function checkFactCase(c: FactCase, where: string): void {
  if (typeof c !== 'object' || c === null) throw bad(where, `a request must be an object, not ${kind(c)}`);
  if (typeof c.prompt !== 'string' || !c.prompt.includes('{}')) throw bad(where, '"prompt" must be a string with {} where the subject goes');
  if (typeof c.subject !== 'string' || c.subject.trim() === '') throw bad(where, '"subject" must be a non-empty string');
  const tNew = targetOf(c.target_new);
  const tTrue = targetOf(c.target_true);
  if (tNew === undefined || tNew.trim() === '') throw bad(where, 'needs a non-empty target_new.str');
  if (tTrue === undefined || tTrue.trim() === '') throw bad(where, 'needs a non-empty target_true.str');
  // The scores compare the two targets: equal targets make a no-op edit look like a perfect rewrite.
  if (tNew.trim() === tTrue.trim()) throw bad(where, `target_new "${tNew.trim()}" is the same as target_true: nothing to edit; give a different target_new`);
  promptList(c.paraphrase_prompts, 'paraphrase_prompts', where);
  promptList(c.neighborhood_prompts, 'neighborhood_prompts', where);
}

/** One request of a file: a CounterFact record (`requested_rewrite` + prompts) or the rewrite itself. */
function caseOf(raw: unknown, where: string): FactCase {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(where, `a request must be a JSON object, not ${kind(raw)}`);
  const r = raw as Record<string, unknown>;
  const rwRaw = r['requested_rewrite'] ?? r;
  if (typeof rwRaw !== 'object' || rwRaw === null || Array.isArray(rwRaw)) throw bad(where, `"requested_rewrite" must be an object, not ${kind(rwRaw)}`);
  const rw = rwRaw as Record<string, unknown>;
  const tNew = targetOf(rw['target_new']);
  const tTrue = targetOf(rw['target_true']);
  if (tNew === undefined || tTrue === undefined) throw bad(where, 'needs target_new.str and target_true.str');
  const c: FactCase = {
    prompt: rw['prompt'] as string,
    subject: rw['subject'] as string,
    target_new: { str: tNew },
    target_true: { str: tTrue },
    paraphrase_prompts: promptList(r['paraphrase_prompts'] ?? rw['paraphrase_prompts'], 'paraphrase_prompts', where),
    neighborhood_prompts: promptList(r['neighborhood_prompts'] ?? rw['neighborhood_prompts'], 'neighborhood_prompts', where),
  };
  checkFactCase(c, where);
  return c;
}

/**
 * The requests of a request file's JSON: one request, an array of them, or a wrapper `{ request }` /
 * `{ requests: [...] }` (the golden oracle's files). `file` names the source in errors.
 */
export function parseEditRequests(raw: unknown, file: string): FactCase[] {
  let list: unknown[];
  if (Array.isArray(raw)) list = raw;
  else if (typeof raw === 'object' && raw !== null && 'requests' in raw) {
    const rs = (raw as { requests: unknown }).requests;
    if (!Array.isArray(rs)) throw bad(file, `"requests" must be an array of requests, not ${kind(rs)}`);
    list = rs;
  } else if (typeof raw === 'object' && raw !== null && 'request' in raw) list = [(raw as { request: unknown }).request];
  else list = [raw];
  if (list.length === 0) throw new LocusError('bad-config', `${file} holds no request`);
  return list.map((r, i) => caseOf(r, `${file}: request ${i}`));
}

/**
 * Context templates as given (ROME: strings; MEMIT: strings or groups of strings): a non-empty list
 * whose every template holds `{}` where the prompt goes. `source` names the flag or file.
 */
export function checkContextTemplates(t: unknown, source: string): void {
  const ok = (x: unknown): boolean => typeof x === 'string' && x.includes('{}');
  const fix = 'give a JSON array of templates such as ["{}", "The news. {}"] (or MEMIT\'s nested groups)';
  if (!Array.isArray(t) || t.length === 0) throw new LocusError('bad-config', `${source} must be a non-empty list of context templates: ${fix}`);
  const flat = t.every((x) => typeof x === 'string');
  const groups = t.every((g) => Array.isArray(g) && g.length > 0);
  if (!flat && !groups) throw new LocusError('bad-config', `${source} mixes templates and groups, or holds an empty group or a non-string: ${fix}`);
  const all = (flat ? t : (t as unknown[][]).flat()) as unknown[];
  const i = all.findIndex((x) => !ok(x));
  if (i >= 0) throw new LocusError('bad-config', `${source}: template ${JSON.stringify(all[i])} has no {} where the prompt goes: ${fix}`);
}

/** The seed of the template sampler and noise draws: an integer 0 … 2³²−1. */
export function checkSeed(seed: unknown, source = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0 || seed > MAX_EDIT_SEED) {
    throw new LocusError('bad-input', `${source} must be an integer from 0 to ${MAX_EDIT_SEED} (got ${String(seed)})`);
  }
  return seed;
}

/** σ of the editing noise: a finite number 0 … MAX_EDITING_NOISE. */
export function checkEditingNoise(sigma: unknown, source = 'editingNoise'): number {
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0 || sigma > MAX_EDITING_NOISE) {
    throw new LocusError('bad-input', `${source} must be a number from 0 to ${MAX_EDITING_NOISE} (got ${String(sigma)})`);
  }
  return sigma;
}
