import { LocusError } from '../errors';
import type { ParamGetter } from '../graph/segments';
import type { TableRows } from '../model/mappedWeights';
import type { ParamName } from '../model/names';
import type { Tensor } from '../tensor/tensor';

/**
 * Rows `ids` of the table `name` [rows, d] → [batch, pos, d] (the same floats ORT's Gather copies).
 * Done here rather than in an ORT session: a session would encode, copy and hold the whole token
 * table (GPT-2's largest matrix, 154 MB; GPT-J's 825 MB) to copy a few rows, and creating it was
 * about a tenth of a cold trace grid's extra time (bench/trace.ts). A lean model's mapped table is
 * not read whole either (bench/scale.ts measured GPT-2 XL's 321 MB read to gather 7 rows): `tables`
 * reads just these rows from the file (model/mappedWeights.ts); other tables come whole from `params`.
 */
function gatherTable(params: ParamGetter, tables: TableRows | undefined, name: ParamName, ids: BigInt64Array, batch: number, pos: number, what: string): Tensor {
  const reader = tables?.(name);
  const [rows, d] = reader ? reader.shape : params(name).shape;
  for (let i = 0; i < ids.length; i++) {
    const id = Number(ids[i]);
    if (!(id >= 0 && id < rows)) throw new LocusError('bad-input', `${what} ${id} is outside the model's table of ${rows}`);
  }
  if (reader) return { shape: [batch, pos, d], data: reader.read(ids) };
  const W = params(name).data; // [rows, d]
  const out = new Float32Array(ids.length * d); // [ids, d]
  for (let i = 0; i < ids.length; i++) out.set(W.subarray(Number(ids[i]) * d, (Number(ids[i]) + 1) * d), i * d);
  return { shape: [batch, pos, d], data: out };
}

/** Token embeddings (and learned position embeddings when `positions` is given): [batch, pos, d_model] each. */
export function embedTokens(params: ParamGetter, ids: BigInt64Array, positions: BigInt64Array | undefined, batch: number, pos: number, tables?: TableRows): { embed: Tensor; posEmbed?: Tensor } {
  const embed = gatherTable(params, tables, 'embed.W_E', ids, batch, pos, 'token id');
  if (!positions) return { embed };
  return { embed, posEmbed: gatherTable(params, tables, 'pos_embed.W_pos', positions, batch, pos, 'position') };
}
