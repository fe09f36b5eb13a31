/**
 * Pre-flight safety checks of an edit (issue 18 item 5; CONTRACTS.md "Next": every edit JSON's
 * `safety`). Computed after an edit is computed and before it is applied for good, from cheap numbers:
 * ROME's update denominator, ‖ΔW‖/‖W‖, where the subject sits in the prompt, and the change of
 * perplexity on a fixed canary text with the edit applied for a moment (a nested EditStack, reverted).
 * Thresholds and where each comes from: SAFETY_THRESHOLDS below and README "Edit safety".
 */
import type { LoadedModel } from '../../model/model';
import type { ParamName } from '../../model/names';
import type { Edit } from './edits';
import { EditStack, frobenius } from './edits';
import { reused } from './editReuse';
import type { EditReuse } from './editReuse';
import { canaryAvailable, canaryPerplexity } from './canary';
import { whitenedDenominator } from './keyDenominator';

export type SafetyCheckName = 'update-denominator' | 'delta-norm-ratio' | 'subject-first-token' | 'canary-perplexity';

/** One check (CONTRACTS.md: name, value, threshold, flagged); the other fields say what it concerns. */
export interface SafetyCheck {
  readonly name: SafetyCheckName;
  readonly value: number;
  readonly threshold: number;
  readonly flagged: boolean;
  /** `below`: flagged when value < threshold; `above`: when value > threshold. */
  readonly flaggedWhen: 'below' | 'above';
  readonly layer?: number;
  readonly param?: ParamName;
  /** Index of the request (in file order) the check is about. */
  readonly request?: number;
  /** One line for people: the numbers behind the value. */
  readonly note: string;
}

export interface EditSafety {
  /** True when any check is flagged: the worker then does not apply the edit unless asked to (force). */
  readonly flagged: boolean;
  readonly checks: SafetyCheck[];
}

/**
 * - updateDenominator 0.1: ROME's division factor in whitened units over d_mlp, D / d_mlp with
 *   D = d|d|/d* (keyDenominator.ts whitenedDenominator; = (C⁻¹k*)ᵀk for consistent keys). A typical key
 *   gives 1 (E[kᵀC⁻¹k] = d_mlp); ΔW scales with 1/d, so 0.1 is an update about ten times a typical key's:
 *   r-ROME (Gupta et al., EMNLP'24, §3) traces disabling edits to a small division factor whose update
 *   norm ‖Δ‖ is an order of magnitude above normal edits'. Measured on the embedded model's first 16
 *   CounterFact edits (ROME preset): d/d_mlp 0.71–1.28, D/d_mlp 0.41–1.3.
 * - deltaNormRatio 1: ‖ΔW‖_F/‖W‖_F of an edited weight matrix; an update as large as the weight it adds
 *   to is no longer a small touch. Normal ROME edits on the embedded model (its preset: layer 0, 200 v
 *   steps, clamp 20; first 16 CounterFact records): 0.20–0.46; an update with a ten times smaller denominator lands above 1. Norm growth
 *   is the collapse mechanism in research/editors.md §2 item 3 (ENCORE, NAS).
 * - subjectPrefixTokens 1, reported always, flagged only with another sign: a subject at the prompt's first
 *   token has no prefix; "The Fall of ROME" (arxiv 2406.11263) finds collapse cases concentrated there,
 *   because ROME's update then divides by the bare prompt's anomalous key (r-ROME's fix: prefixed keys).
 *   The mechanism is the key mismatch, which the denominator measures (research/editors.md §1.2, §2.1), so
 *   the position is a risk factor, not a sign: measured on the embedded model (ROME preset, 2026-12-07),
 *   20 first-token vs 20 prefixed CounterFact edits: canary perplexity +1.1 % vs +0.9 % (median; max +9.6 %
 *   vs +5.2 %), neighborhood 0.997 vs 0.998 (min 0.79 vs 0.87), ‖ΔW‖/‖W‖ 0.27 vs 0.20 (max 0.46 vs 0.40),
 *   D/d_mlp 0.99 vs 1.07 (min 0.35 vs 0.74): none disabling, yet the position alone flagged all 20.
 *   Over 150 of each, D/d_mlp fell below 0.1 once, for a first-token subject (case 17674, "{}'s capital city
 *   is", Israel: 0.036, ‖ΔW‖/‖W‖ 1.30, canary +40 %: a real disabling edit, flagged by the denominator),
 *   below 0.2 once more (first-token too), and never for a prefixed subject (min 0.41). So with the bare
 *   prompt's key (ROME's own code) the position is flagged when it coincides with an update at least
 *   half-way to a flag: D/d_mlp < firstTokenDenominator (0.2, twice updateDenominator) or ‖ΔW‖/‖W‖ >
 *   firstTokenDeltaNormRatio (0.5, half deltaNormRatio); with r-ROME, MEMIT or FT it is reported only.
 * - canaryPerplexityIncrease 0.25: +25 % perplexity on the canary text. A collapsed model's perplexity
 *   grows by orders of magnitude (the Butterfly Effect, ACL'24 Findings, uses perplexity as the proxy);
 *   normal edits on the embedded model move it by −0.2 % to +5.3 % (measured, same 16; a tiny model edited at
 *   layer 0 moves more than GPT-2 XL at layer 17), an update blown up 100× by over +100 %.
 */
export const SAFETY_THRESHOLDS = {
  updateDenominator: 0.1,
  deltaNormRatio: 1,
  subjectPrefixTokens: 1,
  canaryPerplexityIncrease: 0.25,
  firstTokenDenominator: 0.2,
  firstTokenDeltaNormRatio: 0.5,
} as const;

/** The key a rank-one key-value update (ROME, r-ROME) divided by at one layer, and the update's left vector. */
export interface UpdateKey {
  readonly layer: number;
  /** Index of the request (in file order) whose key this is. */
  readonly request: number;
  /** The key the denominator dots with: ROME's bare prompt key, r-ROME's template mean k*. */
  readonly k: ArrayLike<number>;
  /** The update's left vector C⁻¹k* / ‖C⁻¹k*‖ (the rank-one ΔW's u). */
  readonly u: ArrayLike<number>;
}

/**
 * Methods whose update divides by the bare prompt's key (kmeng01/rome compute_v); every other method's
 * keys are averaged over prefixed templates (r-ROME, MEMIT, EMMET, AlphaEdit) or it has none (FT).
 */
const BARE_PROMPT_KEY_METHODS: ReadonlySet<string> = new Set(['rome']);

/**
 * Pairs the keys a method reports (per layer, one per request: methods/registry/spec.ts MethodOutput) with
 * the rank-one deltas of that layer's W_out, in order. Layers edited densely (MEMIT, EMMET, AlphaEdit: one
 * least-squares update for all keys) have no single denominator and give none.
 */
export function rankOneUpdateKeys(edit: Edit, keys: ReadonlyMap<number, readonly Float64Array[]>): UpdateKey[] {
  const out: UpdateKey[] = [];
  for (const [layer, ks] of keys) {
    const rankOne = edit.deltas.filter((d) => d.param === `blocks.${layer}.mlp.W_out` && d.kind === 'rank-one');
    if (rankOne.length !== ks.length) continue;
    rankOne.forEach((d, i) => {
      if (d.kind === 'rank-one') out.push({ layer, request: i, k: ks[i], u: d.u });
    });
  }
  return out;
}

export interface SafetyJob {
  /** The computed edit, NOT applied (assessSafety applies it only for a moment, on a nested stack). */
  readonly edit: Edit;
  /** Each request's prompt (with "{}") and subject, in file order. */
  readonly requests: ReadonlyArray<{ readonly prompt: string; readonly subject: string }>;
  /** Per edited layer, the keys the update used, one per request (the method's output). */
  readonly keys?: ReadonlyMap<number, readonly Float64Array[]>;
  /** E[k kᵀ] of a layer's keys (the C the update used); without it the denominator is not checked. */
  readonly secondMoment?: (layer: number) => Promise<Float64Array | Float32Array>;
  /** Shares the canary's perplexity before the edit among edits of the same model state (a study). */
  readonly reuse?: EditReuse;
  /** Score the canary text with the edit applied (default true); a study, which stores no safety, turns it off (its ~0.1 s per edit). */
  readonly canary?: boolean;
  readonly signal?: AbortSignal;
}

const fmt = (x: number): string => (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : x.toPrecision(3));

function check(name: SafetyCheckName, value: number, threshold: number, flaggedWhen: 'below' | 'above', note: string, about: { layer?: number; param?: ParamName; request?: number } = {}): SafetyCheck {
  const flagged = !Number.isFinite(value) || (flaggedWhen === 'below' ? value < threshold : value > threshold);
  // JSON has no Inf/NaN: a non-finite value (a collapsed model's perplexity) is reported as the largest double, flagged.
  return { name, value: Number.isFinite(value) ? value : Number.MAX_VALUE, threshold, flagged, flaggedWhen, ...about, note };
}

/** ROME's denominator per layer and request, in whitened units, relative to a typical key's d_mlp. */
export async function denominatorChecks(model: LoadedModel, keys: readonly UpdateKey[], secondMoment: (layer: number) => Promise<Float64Array | Float32Array>): Promise<SafetyCheck[]> {
  const M = model.config.d_mlp;
  const out: SafetyCheck[] = [];
  for (const k of keys) {
    const C = await secondMoment(k.layer); // [d_mlp, d_mlp]
    const D = whitenedDenominator(C, k.u, k.k);
    const note = `division factor in whitened units ${fmt(D)} against ${M} (d_mlp) for a typical key`;
    out.push(check('update-denominator', D / M, SAFETY_THRESHOLDS.updateDenominator, 'below', note, { layer: k.layer }));
  }
  return out;
}

/** ‖ΔW‖_F/‖W‖_F per edited weight matrix (biases have no comparable scale: a bias can be near zero). */
export function deltaNormChecks(model: LoadedModel, edit: Edit): SafetyCheck[] {
  return edit.deltas.flatMap((d) => {
    const w = model.param(d.param);
    if (w.shape.length < 2) return [];
    let s = 0;
    for (const x of w.data) s += x * x;
    const dn = frobenius(d);
    const wn = Math.sqrt(s);
    return [check('delta-norm-ratio', dn / wn, SAFETY_THRESHOLDS.deltaNormRatio, 'above', `‖ΔW‖ = ${fmt(dn)}, ‖W‖ = ${fmt(wn)}`, { param: d.param })];
  });
}

/** What else an edit shows that makes a first-token subject worth flagging (SAFETY_THRESHOLDS' note). */
export interface FirstTokenSigns {
  /** Per request, the smallest D/d_mlp of its rank-one updates (the update-denominator check's value). */
  readonly denominatorByRequest: ReadonlyMap<number, number>;
  /** The largest ‖ΔW‖/‖W‖ of the edit (the delta-norm-ratio checks' values). */
  readonly deltaNormRatio: number;
}

/** The signs from the checks computed before (`keys` in the order denominatorChecks got them). */
export function firstTokenSigns(keys: readonly UpdateKey[], denominators: readonly SafetyCheck[], deltaNorms: readonly SafetyCheck[]): FirstTokenSigns {
  const denominatorByRequest = new Map<number, number>();
  denominators.forEach((c, i) => denominatorByRequest.set(keys[i].request, Math.min(c.value, denominatorByRequest.get(keys[i].request) ?? Infinity)));
  return { denominatorByRequest, deltaNormRatio: Math.max(0, ...deltaNorms.map((c) => c.value)) };
}

/**
 * Per request: how many tokens precede the subject (the tokenizer's BOS not counted). At 0 it is flagged
 * only when `barePromptKey` (the update divided by the bare prompt's key) and `signs` show an update at
 * least half-way to a flag (SAFETY_THRESHOLDS' note: the position alone is a risk factor, not a sign).
 */
export function subjectPositionChecks(model: LoadedModel, requests: SafetyJob['requests'], barePromptKey: boolean, signs: FirstTokenSigns): SafetyCheck[] {
  const tok = model.tokenizer;
  const T = SAFETY_THRESHOLDS;
  return requests.map((r, i) => {
    const filled = r.prompt.replace('{}', () => r.subject);
    const [b] = tok.findSpan(tok.encode(filled), filled, r.subject, r.prompt.indexOf('{}'));
    const before = Math.max(0, b - tok.prefixIds.length);
    const D = signs.denominatorByRequest.get(i);
    const sign =
      D !== undefined && D < T.firstTokenDenominator ? `D/d_mlp ${fmt(D)} < ${T.firstTokenDenominator}`
      : signs.deltaNormRatio > T.firstTokenDeltaNormRatio ? `‖ΔW‖/‖W‖ ${fmt(signs.deltaNormRatio)} > ${T.firstTokenDeltaNormRatio}`
      : undefined;
    const risky = before === 0 && barePromptKey && sign !== undefined;
    const note =
      before > 0 ? `${before} token(s) before the subject`
      : risky ? `the subject is the prompt's first token, the update divides by the bare prompt's key ("The Fall of ROME") and ${sign}; rrome uses prefixed keys`
      : barePromptKey ? 'the subject is the prompt\'s first token (a risk with the bare prompt\'s key, "The Fall of ROME"); reported, not flagged: the update\'s denominator and size are normal'
      : 'the subject is the prompt\'s first token; this method\'s update uses prefix-averaged keys, so it is not flagged';
    const c = check('subject-first-token', before, T.subjectPrefixTokens, 'below', note, { request: i });
    return risky || before > 0 ? c : { ...c, flagged: false };
  });
}

/** Canary perplexity before and with the edit applied on a nested stack (reverted before this returns). */
export async function canaryCheck(model: LoadedModel, edit: Edit, reuse?: EditReuse, signal?: AbortSignal): Promise<SafetyCheck> {
  const before = await reused(reuse, 'safety|canary-before', () => canaryPerplexity(model, signal));
  const stack = new EditStack(model);
  let after: number;
  try {
    await stack.apply(edit);
    after = await canaryPerplexity(model, signal);
  } finally {
    await stack.revertAll();
  }
  return check('canary-perplexity', after / before - 1, SAFETY_THRESHOLDS.canaryPerplexityIncrease, 'above', `canary perplexity ${fmt(before)} → ${fmt(after)}`);
}

/** Every check that applies to the job; `flagged` when any is. The model is as before when this returns. */
export async function assessSafety(model: LoadedModel, job: SafetyJob): Promise<EditSafety> {
  const checks: SafetyCheck[] = [];
  const updateKeys = job.keys ? rankOneUpdateKeys(job.edit, job.keys) : [];
  const denominators = job.secondMoment ? await denominatorChecks(model, updateKeys, job.secondMoment) : [];
  const deltaNorms = deltaNormChecks(model, job.edit);
  checks.push(...denominators, ...deltaNorms);
  const signs = firstTokenSigns(updateKeys, denominators, deltaNorms);
  checks.push(...subjectPositionChecks(model, job.requests, updateKeys.length > 0 && BARE_PROMPT_KEY_METHODS.has(job.edit.method), signs));
  // A build without the bundled WikiText-2 (canary.ts) has no canary; the other checks still apply.
  if (job.canary !== false && canaryAvailable()) checks.push(await canaryCheck(model, job.edit, job.reuse, job.signal));
  return { flagged: checks.some((c) => c.flagged), checks };
}

/** One line per flagged check, for the CLI's stderr and notes. */
export function safetyWarnings(safety: EditSafety): string[] {
  return safety.checks.filter((c) => c.flagged).map((c) => {
    const where = c.layer !== undefined ? ` (layer ${c.layer})` : c.param !== undefined ? ` (${c.param})` : c.request !== undefined ? ` (request ${c.request})` : '';
    return `safety: ${c.name}${where} = ${fmt(c.value)}, ${c.flaggedWhen} the threshold ${c.threshold}: ${c.note}`;
  });
}
