/**
 * The one way every editing method's hparams are read from a researcher's JSON (each method's
 * `schema`, registry/spec.ts; ROME's, MEMIT's and fine-tuning's mergers are this merge): each known
 * key has a rule that checks its type and range (a wrong value is a LocusError naming the key and the
 * file, never a silently different edit: `v_num_grad_steps: -5` used to run zero steps and report
 * success), unknown keys become notes, module-name templates are accepted and ignored.
 */
import { LocusError } from '../../errors';

/** Reads one key's value (throws naming `source` and `key` when it is wrong). */
export type KeyRule = (v: unknown, key: string, source: string) => unknown;

const got = (v: unknown): string => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));
const bad = (source: string, key: string, what: string, v: unknown): LocusError => new LocusError('bad-config', `${source}: "${key}" must be ${what} (got ${got(v)})`);

/** An integer ≥ min (step counts, sample counts, layer indices). */
export const int =
  (min: number): KeyRule =>
  (v, key, source) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw bad(source, key, min === 1 ? 'a positive integer' : `an integer ≥ ${min}`, v);
    return v;
  };

/**
 * A finite number, > 0 (`positive`) or ≥ 0. No upper bound: a huge learning rate is a legal (if
 * foolish) setting, and the finite guard on the edit's ΔW and scores reports what it produced.
 */
export const num =
  (positive: boolean): KeyRule =>
  (v, key, source) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive ? !(v > 0) : v < 0)) throw bad(source, key, positive ? 'a finite number > 0' : 'a finite number ≥ 0', v);
    return v;
  };

export const bool: KeyRule = (v, key, source) => {
  if (typeof v !== 'boolean') throw bad(source, key, 'true or false', v);
  return v;
};

export const oneOf =
  (values: readonly string[]): KeyRule =>
  (v, key, source) => {
    if (typeof v !== 'string' || !values.includes(v)) throw bad(source, key, `one of ${values.map((x) => `"${x}"`).join(', ')}`, v);
    return v;
  };

/** A non-empty list of block indices (all three methods agree: `layers: []` edits nothing). */
export const layerList: KeyRule = (v, key, source) => {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw bad(source, key, 'a non-empty list of layer indices ≥ 0', v);
  }
  return [...(v as number[])];
};

export interface MergeSpec {
  readonly rules: Readonly<Record<string, KeyRule>>;
  /** Keys accepted for compatibility with the reference's files and ignored, with the note to give. */
  readonly ignored: ReadonlyArray<{ readonly key: RegExp; readonly note: string }>;
  /** Notes on values that load but have no effect (e.g. MEMIT's layer_selection "random"), after the merge. */
  readonly notes?: (merged: Readonly<Record<string, unknown>>, raw: Readonly<Record<string, unknown>>, source: string) => string[];
}

/** `base` overridden by `raw` under `spec`; notes for ignored and unknown keys. */
export function mergeHparams<T extends object>(base: T, raw: Record<string, unknown>, spec: MergeSpec, source: string): { hparams: T; notes: string[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new LocusError('bad-config', `${source} must be a JSON object of hyper-parameters ({ … }), not ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : `a ${typeof raw}`}`);
  }
  const h = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(h)) if (Array.isArray(v)) h[k] = [...(v as unknown[])];
  const notes: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const rule = Object.prototype.hasOwnProperty.call(spec.rules, k) ? spec.rules[k] : undefined;
    if (rule) {
      h[k] = rule(v, k, source);
      continue;
    }
    const ignored = spec.ignored.find((i) => i.key.test(k));
    notes.push(ignored ? `${source}: "${k}" is ignored (${ignored.note})` : `${source}: unknown key "${k}" ignored`);
  }
  if (spec.notes) notes.push(...spec.notes(h, raw, source));
  return { hparams: h as T, notes };
}
