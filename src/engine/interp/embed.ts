import { LocusError } from '../errors';
import type { ParamGetter } from '../graph/segments';
import type { Tensor } from '../tensor/tensor';

/**
 * Rows `ids` of the table `W` [rows, d] → [batch, pos, d] (the same floats ORT's Gather copies).
 * Done here rather than in an ORT session: a session would encode, copy and hold the whole token
 * table (GPT-2's largest matrix, 154 MB; GPT-J's 825 MB) to copy a few rows, and creating it was
 * about a tenth of a cold trace grid's extra time (bench/trace.ts).
 */
function gatherTable(W: Tensor, ids: BigInt64Array, batch: number, pos: number, what: string): Tensor {
  const [rows, d] = W.shape;
  const out = new Float32Array(ids.length * d);
  for (let i = 0; i < ids.length; i++) {
    const id = Number(ids[i]);
    if (!(id >= 0 && id < rows)) throw new LocusError('bad-input', `${what} ${id} is outside the model's table of ${rows}`);
    out.set(W.data.subarray(id * d, (id + 1) * d), i * d);
  }
  return { shape: [batch, pos, d], data: out };
}

/** Token embeddings (and learned position embeddings when `positions` is given): [batch, pos, d_model] each. */
export function embedTokens(params: ParamGetter, ids: BigInt64Array, positions: BigInt64Array | undefined, batch: number, pos: number): { embed: Tensor; posEmbed?: Tensor } {
  const embed = gatherTable(params('embed.W_E'), ids, batch, pos, 'token id');
  if (!positions) return { embed };
  return { embed, posEmbed: gatherTable(params('pos_embed.W_pos'), positions, batch, pos, 'position') };
}
