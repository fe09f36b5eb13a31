/**
 * Canonical parameters → Hugging Face tensors, for any adapter: the inverse of its table (types.ts).
 * copy → as is; transpose → back to nn.Linear's [out, in]; columns / range → written into their slice of
 * the fused HF tensor (GPT-2's c_attn), which every slice covers exactly once. Tied weights that the
 * adapter does not load (GPT-2's lm_head) are not written, as HF does not write them either.
 */
import type { Tensor } from '../../tensor/tensor';
import type { ModelConfig } from '../config';
import type { ParamName } from '../names';
import type { AdapterTable } from './types';

export function hfTensors(adapter: AdapterTable, cfg: ModelConfig, p: (name: ParamName) => Tensor): Array<{ name: string; tensor: Tensor }> {
  const out = new Map<string, Tensor>();
  for (const spec of adapter.params(cfg)) {
    let hf = out.get(spec.hf);
    if (!hf) {
      hf = { shape: [...spec.hfShape], data: new Float32Array(spec.hfShape.reduce((a, b) => a * b, 1)) };
      out.set(spec.hf, hf);
    }
    const src = p(spec.name).data;
    const t = spec.transform;
    if (t.kind === 'copy') hf.data.set(src);
    else if (t.kind === 'range') hf.data.set(src, t.start);
    else if (t.kind === 'transpose') {
      const [rows, cols] = spec.hfShape; // HF [out, in]; canonical [in, out] = [cols, rows]
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) hf.data[r * cols + c] = src[c * rows + r];
    } else if (t.kind === 'perHead') {
      // canonical [in, heads·size] (or [heads·size] for a bias) back into rows (h·parts + part)·size … of HF's [out, in]
      const rowLen = spec.hfShape.length === 2 ? spec.hfShape[1] : 1;
      const n = t.heads * t.size;
      for (let h = 0; h < t.heads; h++) {
        for (let i = 0; i < t.size; i++) {
          const row = (h * t.parts + t.part) * t.size + i;
          for (let c = 0; c < rowLen; c++) hf.data[row * rowLen + c] = rowLen === 1 ? src[h * t.size + i] : src[c * n + h * t.size + i];
        }
      }
    } else {
      const [rows, cols] = spec.hfShape; // canonical [rows, count] is columns start .. start+count
      for (let r = 0; r < rows; r++) hf.data.set(src.subarray(r * t.count, (r + 1) * t.count), r * cols + t.start);
    }
  }
  return [...out].map(([name, tensor]) => ({ name, tensor }));
}
