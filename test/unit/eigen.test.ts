import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { symmetricEigen } from '../../src/engine/methods/eigen';

/**
 * symmetricEigen against decompositions known in closed form, plus the defining identities
 * (A v = λ v, VᵀV = I) on a random SPD matrix of AlphaEdit's size (d_mlp = 256 on the golden model).
 * Tolerances are float64 round-off scaled by the matrix norm (1e-12 · n).
 */

/** Deterministic uniform(-1, 1) stream (LCG), so the test needs no seed plumbing. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function residuals(A: Float64Array, n: number, values: Float64Array, vectors: Float64Array): { eig: number; orth: number } {
  let eig = 0;
  let orth = 0;
  for (let j = 0; j < n; j++) {
    const v = vectors.subarray(j * n, (j + 1) * n);
    for (let a = 0; a < n; a++) {
      let s = 0;
      for (let b = 0; b < n; b++) s += A[a * n + b] * v[b];
      eig = Math.max(eig, Math.abs(s - values[j] * v[a]));
    }
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let a = 0; a < n; a++) s += v[a] * vectors[k * n + a];
      orth = Math.max(orth, Math.abs(s - (j === k ? 1 : 0)));
    }
  }
  return { eig, orth };
}

describe('symmetricEigen', () => {
  test('2×2 [[2, 1], [1, 2]]: eigenvalues 3, 1 with vectors (1, 1)/√2, (1, −1)/√2', () => {
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
    assert.ok(Math.abs(values[0] - 3) < 1e-15 && Math.abs(values[1] - 1) < 1e-15, `${values}`);
    const r = Math.SQRT1_2;
    assert.ok(Math.abs(Math.abs(vectors[0]) - r) < 1e-15 && Math.abs(vectors[0] - vectors[1]) < 1e-15);
    assert.ok(Math.abs(Math.abs(vectors[2]) - r) < 1e-15 && Math.abs(vectors[2] + vectors[3]) < 1e-15);
  });

  test('the second-difference matrix tridiag(−1, 2, −1): λ_k = 2 − 2cos(kπ/(n+1)), v_k ∝ sin(jkπ/(n+1))', () => {
    const n = 40;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      A[i * n + i] = 2;
      if (i > 0) A[i * n + i - 1] = A[(i - 1) * n + i] = -1;
    }
    const { values, vectors } = symmetricEigen(A, n);
    let worstValue = 0;
    let worstVector = 0;
    for (let k = 1; k <= n; k++) {
      const j = n - k; // descending order: the largest λ has k = n
      worstValue = Math.max(worstValue, Math.abs(values[j] - (2 - 2 * Math.cos((k * Math.PI) / (n + 1)))));
      const want = Float64Array.from({ length: n }, (_, i) => Math.sin(((i + 1) * k * Math.PI) / (n + 1)));
      const scale = Math.hypot(...want);
      const v = vectors.subarray(j * n, (j + 1) * n);
      const sign = Math.sign(v.reduce((s, x, i) => s + x * want[i], 0));
      want.forEach((w, i) => (worstVector = Math.max(worstVector, Math.abs(sign * v[i] - w / scale))));
    }
    assert.ok(worstValue < 1e-13, `eigenvalues off by ${worstValue}`);
    assert.ok(worstVector < 1e-12, `eigenvectors off by ${worstVector}`);
  });

  test('Q diag(λ) Qᵀ with a known orthogonal Q (a Householder reflection) and a repeated eigenvalue', () => {
    const n = 12;
    const rand = lcg(7);
    const w = Float64Array.from({ length: n }, rand);
    const ww = w.reduce((s, x) => s + x * x, 0);
    const Q = (i: number, j: number): number => (i === j ? 1 : 0) - (2 * w[i] * w[j]) / ww; // column j is an eigenvector
    const lambda = [9, 5, 5, 5, 3, 2, 1, 0.5, 0.25, 1e-3, 1e-6, 0];
    const A = new Float64Array(n * n);
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) for (let j = 0; j < n; j++) A[a * n + b] += Q(a, j) * lambda[j] * Q(b, j);
    const { values, vectors } = symmetricEigen(A, n);
    lambda.forEach((l, j) => assert.ok(Math.abs(values[j] - l) < 1e-13, `λ${j}: ${values[j]} vs ${l}`));
    // Distinct eigenvalues: the vector is Q's column up to sign. The repeated 5 spans the same space as Q's columns 1..3.
    for (const j of [0, 4, 5, 6, 7, 8, 9, 10, 11]) {
      const dotQ = vectors.subarray(j * n, (j + 1) * n).reduce((s, x, i) => s + x * Q(i, j), 0);
      assert.ok(Math.abs(Math.abs(dotQ) - 1) < 1e-10, `vector ${j}: |⟨v, q⟩| = ${Math.abs(dotQ)}`);
    }
    for (const j of [1, 2, 3]) {
      const v = vectors.subarray(j * n, (j + 1) * n);
      const inSpan = [1, 2, 3].reduce((s, c) => s + v.reduce((t, x, i) => t + x * Q(i, c), 0) ** 2, 0);
      assert.ok(Math.abs(inSpan - 1) < 1e-12, `vector ${j} leaves the repeated eigenspace: ${inSpan}`);
    }
    const r = residuals(A, n, values, vectors);
    assert.ok(r.eig < 1e-13 && r.orth < 1e-13, JSON.stringify(r));
  });

  test('a random 256 × 256 SPD matrix B Bᵀ/m: A v = λ v and VᵀV = I to round-off; λ ≥ 0 and sum λ = trace', () => {
    const n = 256;
    const m = 300;
    const rand = lcg(42);
    const B = Float64Array.from({ length: n * m }, rand);
    const A = new Float64Array(n * n);
    for (let a = 0; a < n; a++) for (let b = 0; b <= a; b++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += B[a * m + k] * B[b * m + k];
      A[a * n + b] = A[b * n + a] = s / m;
    }
    const t0 = Date.now();
    const { values, vectors } = symmetricEigen(A, n);
    const seconds = (Date.now() - t0) / 1000;
    const r = residuals(A, n, values, vectors);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += A[i * n + i];
    const sum = values.reduce((s, x) => s + x, 0);
    console.log(`# n = 256: ${seconds.toFixed(3)} s; max |Av − λv| ${r.eig.toExponential(2)}, max |VᵀV − I| ${r.orth.toExponential(2)}; λ ${values[0].toFixed(3)} … ${values[n - 1].toExponential(3)}`);
    assert.ok(r.eig < 1e-12 * n && r.orth < 1e-12 * n, JSON.stringify(r));
    assert.ok(values[n - 1] > 0, `smallest eigenvalue ${values[n - 1]}`);
    for (let j = 1; j < n; j++) assert.ok(values[j] <= values[j - 1], 'descending');
    assert.ok(Math.abs(sum - trace) < 1e-10 * trace, `sum λ ${sum} vs trace ${trace}`);
  });

  test('NaN and a wrong size are LocusErrors', () => {
    assert.throws(() => symmetricEigen([1, NaN, NaN, 1], 2), /NaN/);
    assert.throws(() => symmetricEigen([1, 2, 3], 2), /2×2/);
  });
});
