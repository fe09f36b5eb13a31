import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addProjectedKeys, alphaEditDelta, nullSpaceProjection, projectCache } from '../../src/engine/methods/alphaedit/index';
import { relFrobenius } from '../helpers/assertClose';

/**
 * alphaEditDelta solves the SPD form (P M P + αI) X = P K Rᵀ; the reference (AlphaEdit_main.py) solves
 * (P M + αI) X = P K Rᵀ by LU. Same unique solution (proof in solve.ts): checked here against Gaussian
 * elimination with partial pivoting of the reference's system, on a small random case with a cache, to
 * float64 round-off (1e-10 relative). Plus the projection's defining properties.
 */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/** X = A⁻¹ B (A n × n general, B n × m), Gaussian elimination with partial pivoting. */
function luSolve(A: Float64Array, n: number, B: Float64Array, m: number): Float64Array {
  const a = Float64Array.from(A);
  const x = Float64Array.from(B);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
    for (let j = 0; j < m; j++) [x[c * m + j], x[p * m + j]] = [x[p * m + j], x[c * m + j]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / a[c * n + c];
      for (let j = c; j < n; j++) a[r * n + j] -= f * a[c * n + j];
      for (let j = 0; j < m; j++) x[r * m + j] -= f * x[c * m + j];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let j = 0; j < m; j++) {
      let s = x[c * m + j];
      for (let k = c + 1; k < n; k++) s -= a[c * n + k] * x[k * m + j];
      x[c * m + j] = s / a[c * n + c];
    }
  }
  return x;
}

describe('AlphaEdit closed form', () => {
  const M = 12; // d_mlp
  const D = 5; // d_model
  const rand = lcg(3);
  // C0 = B Bᵀ/s with B of rank 7: five exact zero eigenvalues, so a null space of dimension ≥ 5.
  const B = Array.from({ length: 7 }, () => Float64Array.from({ length: M }, rand));
  const C0 = new Float64Array(M * M);
  for (const b of B) for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) C0[i * M + j] += (b[i] * b[j]) / 7;
  const proj = nullSpaceProjection(C0, 0, 1e-8);
  const keys = Array.from({ length: 3 }, () => Float64Array.from({ length: M }, rand));
  const resid = Array.from({ length: 3 }, () => Float64Array.from({ length: D }, rand));
  const earlier = Array.from({ length: 4 }, () => Float64Array.from({ length: M }, rand));
  const cacheC = new Float64Array(M * M);
  for (const k of earlier) for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) cacheC[i * M + j] += k[i] * k[j];

  test('P projects onto C0\'s null space: rank 5, P² = P, P C0 = 0', () => {
    const { P, rank } = proj;
    assert.equal(rank, 5);
    let idem = 0;
    let kills = 0;
    let trace = 0;
    for (let i = 0; i < M; i++) {
      trace += P[i * M + i];
      for (let j = 0; j < M; j++) {
        let pp = 0;
        let pc = 0;
        for (let k = 0; k < M; k++) {
          pp += P[i * M + k] * P[k * M + j];
          pc += P[i * M + k] * C0[k * M + j];
        }
        idem = Math.max(idem, Math.abs(pp - P[i * M + j]));
        kills = Math.max(kills, Math.abs(pc));
      }
    }
    assert.ok(Math.abs(trace - 5) < 1e-12 && idem < 1e-12 && kills < 1e-12, JSON.stringify({ trace, idem, kills }));
  });

  for (const alpha of [1, 1e-3]) {
    test(`equals the reference's LU solve of (P (K Kᵀ + cache_c) + αI) X = P K Rᵀ (α = ${alpha})`, () => {
      const { P } = proj;
      const Mmat = Float64Array.from(cacheC);
      for (const k of keys) for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) Mmat[i * M + j] += k[i] * k[j];
      const A = new Float64Array(M * M);
      for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) {
        for (let k = 0; k < M; k++) A[i * M + j] += P[i * M + k] * Mmat[k * M + j];
        if (i === j) A[i * M + j] += alpha;
      }
      const rhs = new Float64Array(M * D);
      for (let i = 0; i < M; i++) for (let d = 0; d < D; d++) for (let k = 0; k < M; k++) for (const [r, key] of keys.entries()) rhs[i * D + d] += P[i * M + k] * key[k] * resid[r][d];
      const want = luSolve(A, M, rhs, D);
      const got = alphaEditDelta(P, projectCache(P, cacheC, M), keys, resid, alpha);
      // The cache as the sequence keeps it: P cache_c P by rank-one updates, equal to the product.
      const incremental = addProjectedKeys(P, addProjectedKeys(P, undefined, earlier.slice(0, 2)), earlier.slice(2));
      assert.ok(relFrobenius(incremental, projectCache(P, cacheC, M)) < 1e-12, 'incremental P cache_c P');
      const err = relFrobenius(got, want);
      assert.ok(err < 1e-10, `relative difference ${err}`);
      // Without a cache the same holds (the first batch of a sequence).
      const first = alphaEditDelta(P, undefined, keys, resid, alpha);
      const A0 = new Float64Array(M * M);
      for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) {
        for (let k = 0; k < M; k++) A0[i * M + j] += P[i * M + k] * keys.reduce((s, key) => s + key[k] * key[j], 0);
        if (i === j) A0[i * M + j] += alpha;
      }
      assert.ok(relFrobenius(first, luSolve(A0, M, rhs, D)) < 1e-10);
    });
  }

  test('L2 must be positive; a P of the wrong size is refused', () => {
    assert.throws(() => alphaEditDelta(proj.P, undefined, keys, resid, 0), /L2 must be positive/);
    assert.throws(() => alphaEditDelta(new Float64Array(4), undefined, keys, resid, 1), /projection/);
  });
});
