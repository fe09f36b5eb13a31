import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { memitDelta } from '../../../src/engine/methods/memit/index';
import { RandomState } from '../../../src/engine/methods/causalTrace/randomState';

/** (λC + K Kᵀ) ΔW = K Rᵀ checked directly: the residual of the normal equations, relative to K Rᵀ. */
function normalResidual(C: Float64Array, keys: Float64Array[], resid: Float64Array[], lambda: number, deltaW: Float64Array): number {
  const M = keys[0].length;
  const D = resid[0].length;
  let num = 0;
  let den = 0;
  for (let a = 0; a < M; a++) {
    for (let d = 0; d < D; d++) {
      let lhs = 0;
      for (let b = 0; b < M; b++) {
        let kk = 0;
        for (const k of keys) kk += k[a] * k[b];
        lhs += (lambda * C[a * M + b] + kk) * deltaW[b * D + d];
      }
      let rhs = 0;
      keys.forEach((k, i) => (rhs += k[a] * resid[i][d]));
      num += (lhs - rhs) ** 2;
      den += rhs ** 2;
    }
  }
  return Math.sqrt(num / den);
}

/** C = X Xᵀ / s from `samples` random keys (rank-deficient when samples < M). */
function covariance(rs: RandomState, M: number, samples: number): Float64Array {
  const X = rs.randn(M * samples);
  const C = new Float64Array(M * M);
  for (let a = 0; a < M; a++) for (let b = 0; b < M; b++) {
    let s = 0;
    for (let j = 0; j < samples; j++) s += X[a * samples + j] * X[b * samples + j];
    C[a * M + b] = s / samples;
  }
  return C;
}

describe('MEMIT closed form', () => {
  const M = 24;
  const D = 5;
  const rs = new RandomState(3);
  const keys = [0, 1, 2].map(() => Float64Array.from(rs.randn(M)));
  const resid = [0, 1, 2].map(() => Float64Array.from(rs.randn(D)));

  test('through C\'s cached factor (push-through identity) it solves the normal equations to 1e-10, twice alike', () => {
    const C = covariance(rs, M, 200);
    const a = memitDelta(C, keys, resid, 1.5e4);
    assert.ok(normalResidual(C, keys, resid, 1.5e4, a.deltaW) < 1e-10);
    const b = memitDelta(C, keys, resid, 1.5e4); // the factor now comes from the cache
    assert.deepEqual(b.deltaW, a.deltaW);
  });

  test('a rank-deficient C (fewer samples than the keys\' width) still solves, through λC + K Kᵀ; a hopeless one is refused', () => {
    const C = covariance(rs, M, M - 3); // rank M − 3: the three keys fill the missing directions
    const { deltaW } = memitDelta(C, keys, resid, 2);
    assert.ok(normalResidual(C, keys, resid, 2, deltaW) < 1e-8);
    assert.throws(() => memitDelta(covariance(rs, M, 10), keys, resid, 2), /not positive definite/);
  });
});
