/**
 * The `locus.*` settings that shape requests: what a panel or command leaves out is filled from them, and
 * what the user set in the form wins. Pure apart from reading the configuration, so the merge is testable.
 */
import type { EngineMethod, EngineParams } from '../protocol/engine';

export interface RequestSettings {
  /** `locus.edit.hparams`: per method, the reference's snake_case keys. */
  readonly hparams: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** `locus.statsCorpus`: '' = the model's default (the bundled WikiText-2; the embedded model's training text for it). */
  readonly statsCorpus: string;
  /** `locus.trace.noise`: "s3" or a number σ. */
  readonly traceNoise: string;
}

/** 's3', 's2.5' stay strings; '0.1' becomes the number σ; anything else is left to the worker's default. */
export function parseNoise(text: string): `s${number}` | number | undefined {
  const t = text.trim();
  if (/^s\d+(\.\d+)?$/.test(t)) return t as `s${number}`;
  const x = Number(t);
  return t !== '' && Number.isFinite(x) && x > 0 ? x : undefined;
}

export function withSettings<M extends EngineMethod>(method: M, params: EngineParams<M>, s: RequestSettings): EngineParams<M> {
  if (method === 'edit/run') {
    const p = params as EngineParams<'edit/run'>;
    const defaults = s.hparams[p.method];
    const merged: EngineParams<'edit/run'> = {
      ...p,
      hparams: defaults ? { ...defaults, ...(p.hparams ?? {}) } : p.hparams,
      statsCorpus: p.statsCorpus ?? (s.statsCorpus.trim() || undefined),
    };
    return merged as EngineParams<M>;
  }
  if (method === 'trace/run') {
    const p = params as EngineParams<'trace/run'>;
    return { ...p, noise: p.noise ?? parseNoise(s.traceNoise) } as EngineParams<M>;
  }
  return params;
}
