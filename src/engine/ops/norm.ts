import type { GradRule } from '../autodiff/context';
import type { GraphBuilder } from '../graph/builder';

/** LayerNorm over the last axis with learned scale and shift (opset 17 LayerNormalization). */
export function layerNorm(g: GraphBuilder, x: string, w: string, b: string, eps: number, out?: string): string {
  return g.node('LayerNormalization', [x, w, b], { axis: -1, epsilon: { float: eps } }, out);
}

/**
 * RMSNorm over the last axis (HF LlamaRMSNorm): x · 1/√(mean(x²) + ε) · w. `scale` is w, or for Gemma's
 * RMSNorm the caller passes (1 + w) (HF GemmaRMSNorm: `output * (1.0 + self.weight.float())`, float32).
 * Built from Mul, ReduceMean, Add, Sqrt and Reciprocal, so its gradient is theirs (elementwise.ts,
 * reduce.ts): no rule of its own to keep in step.
 */
export function rmsNorm(g: GraphBuilder, x: string, scale: string, eps: number, out?: string): string {
  const meanSquare = g.node('ReduceMean', [g.node('Mul', [x, x]), g.int64([-1])], { keepdims: 1 }); // [..., 1]
  const inv = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [meanSquare, g.float([eps])])])]);
  return g.node('Mul', [g.node('Mul', [x, inv]), scale], undefined, out);
}

export const normGrads: Record<string, GradRule> = {
  /**
   * y = x̂·w + b, x̂ = (x − μ)·r, r = 1/√(σ² + ε) over the last axis. The forward node exposes neither
   * μ nor r, so they are recomputed. ∂w = Σ GO·x̂, ∂b = Σ GO (over all but the last axis),
   * ∂x = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂)) with ĝ = GO·w.
   */
  LayerNormalization: (c) => {
    const { g } = c;
    if (c.attr('axis', -1) !== -1) throw new Error('autodiff: LayerNormalization is differentiated over the last axis only');
    const eps = c.attr<{ float: number }>('epsilon', { float: 1e-5 }).float;
    const last = g.int64([-1]);
    const mean = (v: string): string => g.node('ReduceMean', [v, last], { keepdims: 1 });
    const xc = g.node('Sub', [c.I(0), mean(c.I(0))]);
    const r = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [mean(g.node('Mul', [xc, xc])), g.float([eps])])])]);
    const xhat = g.node('Mul', [xc, r]);
    let gx: string | undefined;
    if (c.needs(0)) {
      const gh = g.node('Mul', [c.GO(0), c.I(1)]);
      const inner = g.node('Sub', [g.node('Sub', [gh, mean(gh)]), g.node('Mul', [xhat, mean(g.node('Mul', [gh, xhat]))])]);
      gx = g.node('Mul', [r, inner]);
    }
    return [
      gx,
      c.needs(1) ? c.unbroadcast(g.node('Mul', [c.GO(0), xhat]), 1) : undefined,
      c.needs(2) ? c.unbroadcast(c.GO(0), 2) : undefined,
    ];
  },
};
