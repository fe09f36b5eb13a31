/**
 * The finite-number guard: results the engine hands out (scores, log-probs, ΔW, weights to export)
 * are checked here, so a NaN never travels as `null` in JSON (CONTRACTS.md promises numbers) and a
 * broken model is never reported as a success.
 */
import { LocusError } from '../errors';

/** How many entries of `data` are NaN or ±Inf (and the first such index, -1 when none). */
export function countNonFinite(data: ArrayLike<number>): { count: number; first: number } {
  let count = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    // x - x is 0 for every finite x and NaN for NaN and ±Inf: one comparison per element.
    if (x - x !== 0) {
      if (first < 0) first = i;
      count++;
    }
  }
  return { count, first };
}

/** Throws a 'non-finite' LocusError naming `quantity` when `data` holds NaN or ±Inf; `hint` says what to try. */
export function assertFiniteArray(quantity: string, data: ArrayLike<number>, hint = ''): void {
  const { count, first } = countNonFinite(data);
  if (count > 0) {
    throw new LocusError('non-finite', `${quantity} has ${count} non-finite value${count === 1 ? '' : 's'} (NaN or Inf; first at index ${first} of ${data.length})${hint ? `: ${hint}` : ''}`);
  }
}

/**
 * Checks every number in a plain JSON-like result (objects, arrays, typed arrays) and names the first
 * non-finite one by its path, e.g. `post.targetNewLogprob`. `allowNaN` lists paths where NaN is a
 * documented "not applicable" (e.g. a score with no prompts); Inf is never allowed there.
 */
export function assertFiniteDeep(quantity: string, value: unknown, allowNaN: (path: string) => boolean = () => false, hint = ''): void {
  const walk = (v: unknown, p: string): void => {
    if (typeof v === 'number') {
      if (Number.isFinite(v) || (Number.isNaN(v) && allowNaN(p))) return;
      throw new LocusError('non-finite', `${quantity}: ${p || 'the result'} is ${v} (not a finite number)${hint ? `: ${hint}` : ''}`);
    }
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const arr = v as unknown as ArrayLike<number>;
      if (typeof arr[0] === 'bigint') return;
      const { count, first } = countNonFinite(arr);
      if (count > 0) throw new LocusError('non-finite', `${quantity}: ${p} has ${count} non-finite values (first at index ${first})${hint ? `: ${hint}` : ''}`);
      return;
    }
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${p}[${i}]`));
    if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
  };
  walk(value, '');
}
