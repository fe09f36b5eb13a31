/** config.json's rotary settings (theta and HF `rope_scaling`) → RotaryFeatures, shared by the rotary families. */
import { LocusError } from '../../errors';
import type { RawConfig } from './configFields';
import { positiveNumber } from './configFields';
import type { Llama3Scaling, LinearScaling } from './features';

/**
 * HF `rope_scaling` (transformers modeling_rope_utils): null / default → none; `llama3` and `linear` are
 * computed; the others (dynamic NTK, YaRN, LongRoPE) change the angles with the length and are refused.
 */
export function ropeScaling(raw: RawConfig, file: string): Llama3Scaling | LinearScaling | undefined {
  const r = raw['rope_scaling'];
  if (r === null || r === undefined) return undefined;
  if (typeof r !== 'object' || Array.isArray(r)) throw new LocusError('bad-config', `${file}: "rope_scaling" must be an object or null`);
  const s = r as RawConfig;
  const type = s['rope_type'] ?? s['type'];
  const where = `${file} rope_scaling`;
  if (type === 'default') return undefined;
  if (type === 'linear') return { kind: 'linear', factor: positiveNumber(s, 'factor', where, NaN) };
  if (type === 'llama3') {
    const scaling: Llama3Scaling = {
      kind: 'llama3',
      factor: positiveNumber(s, 'factor', where, NaN),
      lowFreqFactor: positiveNumber(s, 'low_freq_factor', where, NaN),
      highFreqFactor: positiveNumber(s, 'high_freq_factor', where, NaN),
      originalMaxPositions: positiveNumber(s, 'original_max_position_embeddings', where, NaN),
    };
    if (!(scaling.highFreqFactor > scaling.lowFreqFactor)) throw new LocusError('bad-config', `${where}: high_freq_factor must exceed low_freq_factor`);
    return scaling;
  }
  throw new LocusError('unsupported-architecture', `${file}: rope_scaling type ${JSON.stringify(type)} is not supported (supported: default, linear, llama3)`);
}
