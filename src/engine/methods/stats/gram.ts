/**
 * XᵀX of a [n, d] float32 batch, computed by onnxruntime and accumulated in float64.
 *
 * ROME's `SecondMoment.add` (kmeng01/rome, util/runningstats.py) does `mom2 += a.t().mm(a)` in the
 * stats precision (float32 for `mom2_dtype: float32`). Here the graph casts the keys to double and
 * runs one Gemm (transA = 1) in double: every product of two float32 values is exact in float64,
 * so the sum is float64-accurate and independent of how the tokens were batched (to ~1e-15
 * relative). RuntimeSession returns float32 only, so the double result leaves the graph as two
 * float32 halves, hi = f32(g) and lo = f32(g − hi), and hi + lo recovers g to ~2⁻⁴⁸ relative.
 */
import { GraphBuilder } from '../../graph/builder';
import { DataType, encodeModel } from '../../graph/proto';
import { RuntimeSession } from '../../runtime/ort';
import type { RuntimeOptions } from '../../runtime/ort';

const INPUT = 'keys';
const HI = 'gram.hi';
const LO = 'gram.lo';
/**
 * Rows per Gemm call: the double copy of the input stays within 2²⁴ elements (128 MiB) or the size of
 * the d×d output, whichever is larger (each call reads back 2·d² floats, so wide layers take big calls).
 */
const MAX_ELEMENTS = 1 << 24;

function gramGraph(dim: number): Uint8Array {
  const g = new GraphBuilder('gram');
  const x = g.input(INPUT, ['n', dim]);
  const xd = g.node('Cast', [x], { to: DataType.double });
  const gd = g.node('Gemm', [xd, xd], { transA: 1 });
  const hi = g.node('Cast', [gd], { to: DataType.float }, HI);
  const rest = g.node('Sub', [gd, g.node('Cast', [hi], { to: DataType.double })]);
  g.node('Cast', [rest], { to: DataType.float }, LO);
  g.output(HI, [dim, dim]);
  g.output(LO, [dim, dim]);
  return encodeModel(g.build(), 17);
}

/** One ORT session shared by every layer's accumulator (they have the same width). */
export class GramSession {
  private constructor(
    private readonly session: RuntimeSession,
    readonly dim: number,
  ) {}

  static async create(dim: number, runtime: RuntimeOptions = {}): Promise<GramSession> {
    return new GramSession(await RuntimeSession.create(`gram.${dim}`, gramGraph(dim), runtime), dim);
  }

  /** sum += Σ_i x_i x_iᵀ over the first `n` rows of `rows` ([n, dim] row-major). Invariant: sum.length = dim². */
  async addInto(sum: Float64Array, rows: Float32Array, n: number): Promise<void> {
    const d = this.dim;
    if (sum.length !== d * d) throw new Error(`GramSession.addInto: sum has ${sum.length} elements, expected ${d}²`);
    if (rows.length < n * d) throw new Error(`GramSession.addInto: ${rows.length} values cannot hold ${n} rows of ${d}`);
    const step = Math.max(d, Math.floor(MAX_ELEMENTS / d));
    for (let start = 0; start < n; start += step) {
      const m = Math.min(step, n - start);
      const data = rows.subarray(start * d, (start + m) * d);
      const out = await this.session.run({ [INPUT]: { shape: [m, d], data } }, [HI, LO]);
      const hi = out[HI].data;
      const lo = out[LO].data;
      for (let i = 0; i < sum.length; i++) sum[i] += hi[i] + lo[i];
    }
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
