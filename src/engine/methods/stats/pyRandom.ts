/**
 * Python's `random.Random(seed).shuffle`, bit for bit, so Locus picks the same documents as ROME.
 *
 * ROME's `layer_stats` passes `random_sample=1` to `tally` (kmeng01/rome, util/runningstats.py
 * `make_loader` → `FixedRandomSubsetSampler`): it shuffles `range(len(dataset))` with
 * `random.Random(1)` and keeps the first `sample_size` indices. CPython's generator is MT19937
 * seeded through `init_by_array` with the seed's 32-bit words (Modules/_randommodule.c
 * `random_seed`); `shuffle` is Fisher–Yates from the end drawing `_randbelow(i + 1)`, which
 * rejection-samples `getrandbits(n.bit_length())`, and `getrandbits(k ≤ 32)` is the top k bits of
 * one 32-bit output (Lib/random.py, unchanged from 3.2 to 3.13).
 */

const N = 624;
const M = 397;

export class PyRandom {
  private readonly mt = new Uint32Array(N);
  private index = N + 1;

  /** `seed`: a non-negative safe integer, as `random.Random(seed)` (negative seeds hash to abs in CPython). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`PyRandom: seed ${seed} is not a safe integer`);
    let n = Math.abs(seed);
    const key: number[] = [];
    // CPython: the key is abs(seed) as little-endian 32-bit words, at least one word (seed 0 → [0]).
    do {
      key.push(n % 0x1_0000_0000);
      n = Math.floor(n / 0x1_0000_0000);
    } while (n > 0);
    this.initByArray(key);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) mt[i] = (Math.imul(1812433253, mt[i - 1] ^ (mt[i - 1] >>> 30)) + i) >>> 0;
    this.index = N;
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      mt[i] = ((mt[i] ^ Math.imul(mt[i - 1] ^ (mt[i - 1] >>> 30), 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      mt[i] = ((mt[i] ^ Math.imul(mt[i - 1] ^ (mt[i - 1] >>> 30), 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000; // MSB is 1, assuring a non-zero initial array
  }

  /** One 32-bit output (genrand_uint32). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= N) {
      for (let k = 0; k < N; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
        mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `getrandbits(k)` for 1 ≤ k ≤ 32. */
  getrandbits(k: number): number {
    if (!(k >= 1 && k <= 32)) throw new Error(`PyRandom.getrandbits: k = ${k} outside 1..32`);
    return k === 32 ? this.nextUint32() : this.nextUint32() >>> (32 - k);
  }

  /** `_randbelow(n)` for 1 ≤ n < 2³²: rejection sampling on n.bit_length() bits. */
  randbelow(n: number): number {
    if (!(Number.isInteger(n) && n >= 1 && n < 0x1_0000_0000)) throw new Error(`PyRandom.randbelow: n = ${n} outside 1..2^32-1`);
    const bits = 32 - Math.clz32(n);
    let r = this.getrandbits(bits);
    while (r >= n) r = this.getrandbits(bits);
    return r;
  }

  /** `random.shuffle(x)` in place. */
  shuffle<T>(x: T[]): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
  }
}
