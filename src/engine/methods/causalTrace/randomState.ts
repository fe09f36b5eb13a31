/**
 * NumPy's legacy `RandomState(seed)` draws for Causal Tracing (ROME: `RandomState(1).randn(...)`).
 * - MT19937 (numpy/random/src/mt19937/mt19937.c). `RandomState(int)` seeds through
 *   `_legacy_seeding` -> `mt19937_seed(state, seed & 0xffffffff)` = `init_genrand`.
 * - Doubles: `random_standard_uniform` = ((a >>> 5) * 2^26 + (b >>> 6)) / 2^53.
 * - Normals: `legacy_gauss` (numpy/random/src/legacy/legacy-distributions.c): the
 *   polar method, returning f*x2 and caching f*x1 for the next call.
 * - log: numpy calls libc `log`; V8's `Math.log` is off by 1 ulp for ~7% of inputs, so
 *   `logRN` is correctly rounded. glibc's log (<= 0.52 ulp) differs from that for ~0.1%
 *   of inputs, where draws differ from numpy by 1-2 ulp (needs glibc's tables to match).
 */

const N = 624, M = 397, MATRIX_A = 0x9908b0df;

// Double-double arithmetic (Dekker): each op leaves its result in (H, L), |L| <= ulp(H)/2.
let H = 0, L = 0;
function twoProd(a: number, b: number): void {
  const p = a * b;
  let t = 134217729 * a;
  const ah = t - (t - a), al = a - ah;
  t = 134217729 * b;
  const bh = t - (t - b), bl = b - bh;
  H = p;
  L = ah * bh - p + ah * bl + al * bh + al * bl;
}
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh);
  const lo = L + (ah * bl + al * bh), s = H + lo;
  L = lo - (s - H);
  H = s;
}
function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  const s = ah + bh, v = s - ah, e = ah - (s - v) + (bh - v) + al + bl;
  H = s + e;
  L = e - (H - s);
}
const LN2_HI = 0.6931471805599453, LN2_LO = 2.3190468138462996e-17;
const TERMS = 9; // |r| <= 2^-9.5 after scaling, so r^9/10! < 2^-106
const INV_FACT: number[] = []; // 1/j! as (hi, lo) pairs, j = 0..TERMS
for (let j = 0, f = 1; j <= TERMS; f *= ++j) {
  const q = 1 / f;
  twoProd(q, f);
  INV_FACT.push(q, (1 - H - L) / f);
}

/**
 * Correctly rounded log(x), normal x > 0 (checked on 3e5 inputs). y = Math.log(x) is within
 * 1 ulp; with exp(y) = 2^k (1 + e) in double-double, log(x) - y ~= (x 2^-k - 1 - e) / (1 + e).
 */
function logRN(x: number): number {
  const y = Math.log(x);
  const k = Math.round(y / Math.LN2);
  twoProd(k, LN2_HI);
  ddAdd(y, 0, -H, -L - k * LN2_LO); // r = y - k ln2, |r| <= ln2/2
  const rh = H / 256, rl = L / 256;
  let ph = INV_FACT[2 * TERMS], pl = INV_FACT[2 * TERMS + 1];
  for (let j = TERMS - 1; j >= 1; j--) {
    ddMul(ph, pl, rh, rl);
    ddAdd(H, L, INV_FACT[2 * j], INV_FACT[2 * j + 1]);
    ph = H;
    pl = L;
  }
  ddMul(ph, pl, rh, rl); // (H, L) = expm1(r / 256); Taylor series in Horner form
  for (let i = 0; i < 8; i++) {
    const eh = H, el = L; // expm1(2a) = e (2 + e):
    ddAdd(eh, el, 2, 0);
    ddMul(eh, el, H, L);
  }
  const eh = H;
  ddAdd(x * 2 ** -k - 1, 0, -H, -L); // scaling is exact; Sterbenz makes "- 1" exact
  return y + H / (1 + eh);
}

export class RandomState {
  private readonly mt = new Uint32Array(N); // MT19937 key
  /** Next index into `mt`; `N` means the key must be twisted first. */
  private pos = N;
  /** `legacy_gauss` cache: when `hasGauss`, `gauss` is the next normal returned. */
  private hasGauss = false;
  private gauss = 0; // 0 whenever !hasGauss, as in numpy

  /** `seed`: an integer in [0, 2^32 - 1], as `RandomState(int)` requires. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`RandomState seed must be an integer in [0, 2**32 - 1], got ${seed}`);
    }
    const mt = this.mt;
    mt[0] = seed;
    for (let i = 1; i < N; i++) {
      // mt[i] = 1812433253 * (mt[i-1] ^ (mt[i-1] >> 30)) + i  (mod 2^32)
      mt[i] = Math.imul(1812433253, mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
    }
  }

  /** Next tempered 32-bit output, in [0, 2^32). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.pos >= N) {
      for (let k = 0; k < N; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
        mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
      }
      this.pos = 0;
    }
    let y = mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    return (y ^ (y >>> 18)) >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits (`random_sample`, `rand`). */
  randomSample(): number {
    const a = this.nextUint32() >>> 5, b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** One standard normal, `legacy_gauss` semantics (polar method with cache). */
  standardNormal(): number {
    if (this.hasGauss) {
      const cached = this.gauss;
      this.hasGauss = false;
      this.gauss = 0;
      return cached;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0); // until 0 < r2 < 1
    const f = Math.sqrt((-2 * logRN(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /** `randn(*shape)`: standard normals in C order; no arguments gives one draw. */
  randn(...shape: number[]): Float64Array {
    let n = 1;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid dimension ${d}`);
      n *= d;
    }
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.standardNormal();
    return out;
  }
}
