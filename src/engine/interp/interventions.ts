import { LocusError } from '../errors';
import type { ActName } from '../model/names';
import type { Tensor } from '../tensor/tensor';
import { formatShape } from '../tensor/tensor';

/**
 * An intervention is data (pyvene's form), so it can cross JSON-RPC and be recorded in a manifest.
 * `add`: x[row, pos] += values; `replace`: x[row, pos] = values.
 * `values` is [R, P, d] where R is rows.length (or 1: the same for every selected row) and P is
 * positions.length (or 1: the same at every position). `rows` defaults to every batch row.
 * Sites: `embed` (token embeddings, before position embeddings: Causal Tracing's corruption point),
 * `blocks.{l}.resid_pre|resid_post`, `blocks.{l}.attn.out`, `blocks.{l}.mlp.out`.
 * A fetched activation is its value after the interventions at its site.
 */
export interface Intervention {
  readonly kind: 'add' | 'replace';
  readonly site: ActName;
  readonly positions: readonly number[];
  readonly rows?: readonly number[];
  readonly values: Tensor;
}

export const INTERVENABLE = /^(embed|blocks\.\d+\.(resid_pre|resid_post|attn\.out|mlp\.out))$/;

/** Visits every (batch row, position, source offset into values.data) an intervention touches. */
function forEachCell(iv: Intervention, batch: number, pos: number, d: number, visit: (row: number, p: number, src: number) => void): void {
  const [R, P, vd] = iv.values.shape;
  const rows = iv.rows ?? Array.from({ length: batch }, (_, i) => i);
  if (iv.values.shape.length !== 3 || vd !== d || (R !== 1 && R !== rows.length) || (P !== 1 && P !== iv.positions.length)) {
    throw new LocusError(
      'bad-input',
      `intervention at ${iv.site}: values have shape ${formatShape(iv.values.shape)}, expected [${rows.length} or 1, ${iv.positions.length} or 1, ${d}]`,
    );
  }
  rows.forEach((row, ri) => {
    if (row < 0 || row >= batch) throw new LocusError('bad-input', `intervention at ${iv.site}: row ${row} outside batch of ${batch}`);
    iv.positions.forEach((p, pi) => {
      if (p < 0 || p >= pos) throw new LocusError('bad-input', `intervention at ${iv.site}: position ${p} outside 0..${pos - 1}`);
      visit(row, p, ((R === 1 ? 0 : ri) * P + (P === 1 ? 0 : pi)) * d);
    });
  });
}

/** Applies interventions to a [batch, pos, d] activation; returns a new tensor (fetched tensors are never mutated). */
export function applyInterventions(x: Tensor, ivs: readonly Intervention[]): Tensor {
  if (ivs.length === 0) return x;
  const [batch, pos, d] = x.shape;
  const out = new Float32Array(x.data);
  for (const iv of ivs) {
    const src = iv.values.data;
    forEachCell(iv, batch, pos, d, (row, p, s) => {
      const o = (row * pos + p) * d;
      if (iv.kind === 'add') for (let i = 0; i < d; i++) out[o + i] += src[s + i];
      else out.set(src.subarray(s, s + d), o);
    });
  }
  return { shape: x.shape, data: out };
}

/**
 * Interventions at a site inside a block graph become the graph's hook inputs:
 * site' = site · keep + inject, with keep [batch, pos, 1] and inject [batch, pos, d].
 * keep = 1, inject = 0 is the identity exactly (x·1 + 0 = x in IEEE arithmetic).
 */
export function hookTensors(ivs: readonly Intervention[], batch: number, pos: number, d: number): { keep: Tensor; inject: Tensor } {
  const keep = new Float32Array(batch * pos).fill(1);
  const inject = new Float32Array(batch * pos * d);
  for (const iv of ivs) {
    const src = iv.values.data;
    forEachCell(iv, batch, pos, d, (row, p, s) => {
      const cell = row * pos + p;
      if (iv.kind === 'replace') {
        keep[cell] = 0;
        inject.set(src.subarray(s, s + d), cell * d);
      } else {
        for (let i = 0; i < d; i++) inject[cell * d + i] += src[s + i];
      }
    });
  }
  return { keep: { shape: [batch, pos, 1], data: keep }, inject: { shape: [batch, pos, d], data: inject } };
}
