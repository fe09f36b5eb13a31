import type { LoadedModel } from '../../model/model';
import type { ParamName } from '../../model/names';
import type { Tensor } from '../../tensor/tensor';
import { assertFiniteArray } from '../../files/finite';

/**
 * A change to one parameter, as data. Rank-one (ROME): ΔW = u vᵀ with W stored [in, out], so u has
 * the input size and v the output size. Dense (fine-tuning, MEMIT): the full ΔW.
 */
export type ParamDelta =
  | { readonly param: ParamName; readonly kind: 'rank-one'; readonly u: Float32Array; readonly v: Float32Array }
  | { readonly param: ParamName; readonly kind: 'dense'; readonly shape: readonly number[]; readonly delta: Float32Array };

/** What an editing method returns: never applied by the method itself. */
export interface Edit {
  readonly method: string;
  readonly layers: readonly number[];
  readonly deltas: readonly ParamDelta[];
}

/** What a NaN or Inf in an edit or its scores tells the user. */
export const DIVERGED = 'the optimisation diverged; lower the learning rate (v_lr / lr) or the number of steps';

/** A ΔW with NaN or Inf is never applied, reported or exported. */
export function assertFiniteEdit(edit: Edit): void {
  for (const d of edit.deltas) {
    if (d.kind === 'rank-one') {
      assertFiniteArray(`the edit's ΔW of ${d.param} (u)`, d.u, DIVERGED);
      assertFiniteArray(`the edit's ΔW of ${d.param} (v)`, d.v, DIVERGED);
    } else assertFiniteArray(`the edit's ΔW of ${d.param}`, d.delta, DIVERGED);
  }
}

export function denseDelta(d: ParamDelta): Float32Array {
  if (d.kind === 'dense') return d.delta;
  const out = new Float32Array(d.u.length * d.v.length);
  for (let i = 0; i < d.u.length; i++) for (let j = 0; j < d.v.length; j++) out[i * d.v.length + j] = d.u[i] * d.v[j];
  return out;
}

export function frobenius(d: ParamDelta): number {
  if (d.kind === 'rank-one') {
    let a = 0;
    let b = 0;
    for (const x of d.u) a += x * x;
    for (const x of d.v) b += x * x;
    return Math.sqrt(a * b);
  }
  let s = 0;
  for (const x of d.delta) s += x * x;
  return Math.sqrt(s);
}

/**
 * The edits applied to a model, in order. Applying adds ΔW to the current value. A stack reverts to
 * ITS CREATION STATE: the first time it touches a parameter it records that parameter's value then
 * (the file's, or another stack's edits), and reverting rebuilds the parameter as that baseline plus
 * the stack's edits still applied, in order (the same float additions as applying them, so reverting
 * one of several edits leaves the others exactly applied, and reverting everything restores the
 * baseline bit for bit). The model's files are never written.
 *
 * Stacks nest LIFO: a stack created on top of another (a measurement, a study cell, a method's
 * temporary multi-layer edit) must be reverted entirely before the outer stack applies or reverts
 * anything; then the outer stack's edits are untouched, bit for bit, and nothing is replayed.
 */
export class EditStack {
  private readonly stack: Edit[] = [];
  /** Each touched parameter's value before this stack's first edit of it (undefined: not overridden then, i.e. the file's value). */
  private readonly baseline = new Map<ParamName, Tensor | undefined>();

  constructor(private readonly model: LoadedModel) {}

  get applied(): readonly Edit[] {
    return this.stack;
  }

  async apply(edit: Edit): Promise<void> {
    for (const d of edit.deltas) {
      if (!this.baseline.has(d.param)) this.baseline.set(d.param, this.model.overrides.override(d.param));
      const cur = this.model.param(d.param);
      const add = denseDelta(d);
      const next = new Float32Array(cur.data);
      for (let i = 0; i < next.length; i++) next[i] += add[i];
      await this.model.overrides.set(d.param, { shape: cur.shape, data: next });
    }
    this.stack.push(edit);
  }

  /** Reverts one applied edit (default the last). */
  async revert(edit: Edit = this.stack[this.stack.length - 1]): Promise<void> {
    const i = this.stack.indexOf(edit);
    if (i < 0) return;
    this.stack.splice(i, 1);
    await this.rebuild(new Set(edit.deltas.map((d) => d.param)));
  }

  async revertAll(): Promise<void> {
    const touched = new Set(this.stack.flatMap((e) => e.deltas.map((d) => d.param)));
    this.stack.length = 0;
    await this.rebuild(touched);
  }

  private async rebuild(params: Set<ParamName>): Promise<void> {
    for (const name of params) {
      const remaining = this.stack.flatMap((e) => e.deltas.filter((d) => d.param === name));
      const base = this.baseline.get(name);
      if (remaining.length === 0) {
        // The recorded tensor itself (never mutated: every apply writes a new array), so this is bit-exact.
        this.baseline.delete(name);
        if (base === undefined) await this.model.overrides.clear(name);
        else await this.model.overrides.set(name, base);
        continue;
      }
      const from: Tensor = base ?? this.model.overrides.original(name);
      const next = new Float32Array(from.data);
      for (const d of remaining) {
        const add = denseDelta(d);
        for (let i = 0; i < next.length; i++) next[i] += add[i];
      }
      await this.model.overrides.set(name, { shape: from.shape, data: next });
    }
  }
}
