/**
 * The engine's tensor: a shape and a flat row-major Float32Array. Every number the engine computes
 * travels in this form between graph segments, interventions and methods.
 * Invariant: data.length === product(shape).
 */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensor(shape: readonly number[], data?: Float32Array): Tensor {
  const n = numel(shape);
  const buf = data ?? new Float32Array(n);
  if (buf.length !== n) {
    throw new Error(`tensor data has ${buf.length} values, shape [${shape.join(', ')}] needs ${n}`);
  }
  return { shape: [...shape], data: buf };
}

export function zeros(shape: readonly number[]): Tensor {
  return tensor(shape);
}

/** A copy of `t` with its own buffer. */
export function clone(t: Tensor): Tensor {
  return { shape: [...t.shape], data: new Float32Array(t.data) };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Transpose a 2-D tensor: [r, c] → [c, r]. */
export function transpose2d(t: Tensor): Tensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  }
  return { shape: [c, r], data: out };
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
