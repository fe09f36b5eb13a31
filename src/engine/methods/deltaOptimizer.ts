import { LocusError } from '../errors';
import { adamStep, newAdamState } from '../optim/adam';
import { norm } from './linalg';

/** One optimization step's numbers (ROME's and MEMIT's printed loss line). */
export interface ValueStep {
  readonly loss: number;
  readonly nll: number;
  readonly kl: number;
  readonly weightDecay: number;
  readonly avgProb: number;
}

/** The objective at δ: its NLL and KL terms and ∂(nll + kl)/∂δ summed over the lookup tokens. */
export interface DeltaEvaluation {
  readonly objective: number;
  readonly nll: number;
  readonly kl: number;
  readonly grad: Float32Array;
}

export interface DeltaLoop {
  readonly steps: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly clampNormFactor: number;
  /** ‖v_init‖ (ROME) or ‖z_init‖ (MEMIT): scales the weight decay and the clamp. */
  readonly initNorm: number;
  readonly signal?: AbortSignal;
}

/**
 * The δ loop shared by ROME's compute_v and MEMIT's compute_z (kmeng01/rome, kmeng01/memit):
 * loss = objective(δ) + weight_decay · ‖δ‖ / ‖init‖²; Adam(lr); stop when loss < 0.05; the last
 * iteration only evaluates; after each step ‖δ‖ is clamped to clamp_norm_factor · ‖init‖.
 * (torch's norm gradient at δ = 0 is 0, hence no decay gradient on the first step.)
 */
export async function optimizeDelta(d: number, o: DeltaLoop, evaluate: (delta: Float32Array) => Promise<DeltaEvaluation>): Promise<{ delta: Float32Array; steps: ValueStep[] }> {
  const delta = new Float32Array(d);
  const params = new Map([['delta', delta]]);
  const adam = newAdamState();
  const maxNorm = o.clampNormFactor * o.initNorm;
  const steps: ValueStep[] = [];
  for (let it = 0; it < o.steps; it++) {
    if (o.signal?.aborted) throw new LocusError('cancelled', 'edit cancelled');
    const ev = await evaluate(delta);
    const dn = norm(delta);
    const wd = o.weightDecay * (dn / (o.initNorm * o.initNorm));
    const loss = ev.objective + wd;
    // avgProb: exp(−mean NLL) (ROME prints the mean over prompts of exp(−per-prompt NLL); close, for logs only).
    steps.push({ loss, nll: ev.nll, kl: ev.kl, weightDecay: wd, avgProb: Math.exp(-ev.nll) });
    if (loss < 5e-2 || it === o.steps - 1) break;
    const g = ev.grad;
    if (dn > 0) for (let j = 0; j < d; j++) g[j] += (o.weightDecay * delta[j]) / (dn * o.initNorm * o.initNorm);
    adamStep(params, new Map([['delta', g]]), adam, { lr: o.lr });
    const after = norm(delta);
    if (after > maxNorm) for (let j = 0; j < d; j++) delta[j] *= maxNorm / after;
  }
  return { delta, steps };
}

/** Σ over rows i of x[i, idx_i, :] for a [rows, T, d] gradient: ∂/∂δ when δ is added at each row's lookup token. */
export function sumAtLookups(x: Float32Array, lookups: readonly number[], T: number, d: number): Float32Array {
  const g = new Float32Array(d);
  lookups.forEach((idx, i) => {
    for (let j = 0; j < d; j++) g[j] += x[(i * T + idx) * d + j];
  });
  return g;
}
