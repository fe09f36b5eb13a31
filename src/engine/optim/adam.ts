/**
 * Adam over Float32Array parameters, updated in place (the arrays are what the training graph is fed).
 * `weightDecay` is decoupled (AdamW, Loshchilov & Hutter) when `decoupled`, else added to the gradient
 * as L2 (torch.optim.Adam's weight_decay, which ROME's and the seed paper's fine-tuning use).
 * Moments are float32 (as torch keeps them), so a checkpoint stores them exactly and a resumed run
 * continues bit-identically.
 */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  decoupled?: boolean;
  /** Which parameters get weight decay (default all); LayerNorm gains and biases usually do not. */
  decays?: (name: string) => boolean;
}

export interface AdamState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export function newAdamState(): AdamState {
  return { step: 0, m: new Map(), v: new Map() };
}

/** One step for every parameter in `params` with gradient `grads.get(name)`. */
export function adamStep(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, state: AdamState, o: AdamOptions): void {
  const b1 = o.beta1 ?? 0.9;
  const b2 = o.beta2 ?? 0.999;
  const eps = o.eps ?? 1e-8;
  const wd = o.weightDecay ?? 0;
  state.step++;
  const c1 = 1 - Math.pow(b1, state.step);
  const c2 = 1 - Math.pow(b2, state.step);
  for (const [name, p] of params) {
    const g = grads.get(name);
    if (!g) continue;
    let m = state.m.get(name);
    let v = state.v.get(name);
    if (!m || !v) {
      m = new Float32Array(p.length);
      v = new Float32Array(p.length);
      state.m.set(name, m);
      state.v.set(name, v);
    }
    const decay = o.decays === undefined || o.decays(name) ? wd : 0;
    for (let i = 0; i < p.length; i++) {
      const gi = o.decoupled || decay === 0 ? g[i] : g[i] + decay * p[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const update = m[i] / c1 / (Math.sqrt(v[i] / c2) + eps);
      p[i] -= o.lr * (o.decoupled ? update + decay * p[i] : update);
    }
  }
}

/** Scales all gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(grads: Map<string, Float32Array>, maxNorm: number): number {
  let sq = 0;
  for (const g of grads.values()) for (const x of g) sq += x * x;
  const norm = Math.sqrt(sq);
  if (norm > maxNorm && norm > 0) {
    const s = maxNorm / norm;
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] *= s;
  }
  return norm;
}

/** Projects `p` onto the L∞ box ‖p − origin‖∞ ≤ radius (constrained fine-tuning's clamp after each step). */
export function projectLinf(p: Float32Array, origin: Float32Array, radius: number): void {
  for (let i = 0; i < p.length; i++) {
    const lo = origin[i] - radius;
    const hi = origin[i] + radius;
    if (p[i] < lo) p[i] = lo;
    else if (p[i] > hi) p[i] = hi;
  }
}
