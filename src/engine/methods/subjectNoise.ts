import type { Intervention } from '../interp/interventions';
import { RandomState } from './causalTrace/randomState';

/**
 * Fact Forcing's corruption while editing (google/belief-localization get_subject_noising_function,
 * seed-paper.md §3.4): one RandomState(1) per fact, fresh σ·randn(rows, e−b, d) draws on every
 * forward pass, added to the token embeddings at the PLAIN prompt's subject positions [b, e) of every
 * row (on templated prompts those absolute positions fall on the template prefix, as in the reference).
 */
export class SubjectNoiser {
  private readonly state = new RandomState(1);

  constructor(
    private readonly sigma: number,
    private readonly span: readonly [number, number],
    private readonly d: number,
  ) {}

  /** The next draws for a batch of `rows` rows whose shortest row has `minLength` tokens. */
  next(rows: number, minLength: number): Intervention[] {
    const [b, e0] = this.span;
    const e = Math.min(e0, minLength);
    if (e <= b) return [];
    const z = this.state.randn(rows, e - b, this.d);
    return [{ kind: 'add', site: 'embed', positions: Array.from({ length: e - b }, (_, k) => b + k), values: { shape: [rows, e - b, this.d], data: Float32Array.from(z, (v) => v * this.sigma) } }];
  }
}
