/** Which state a grid restores: the block output (hidden), the MLP output, or the attention output. */
export type TraceKind = 'hidden' | 'mlp' | 'attn';

/** How the answer is scored: p(first answer token) as ROME, or p(whole answer sequence) as the seed paper's code. */
export type TraceScore = 'first-token' | 'sequence';

/** Noise rule: 's3' / 'sF' = F × std of the noise subjects' token embeddings; a number = that σ. */
export type NoiseRule = `s${number}` | number;

export interface TraceRequest {
  readonly prompt: string;
  readonly subject: string;
  readonly kinds?: readonly TraceKind[];
  /** Window for mlp/attn (hidden always restores one layer). Default 10. */
  readonly window?: number;
  /** Noised copies. Default 10. */
  readonly samples?: number;
  readonly noise?: NoiseRule;
  /** Subjects whose token embeddings set the noise scale (default: the subject itself). */
  readonly noiseSubjects?: readonly string[];
  readonly seed?: number;
  /** Trace this answer instead of the clean run's argmax. */
  readonly target?: string;
  /** The answer as token ids (wins over `target`): a re-trace scores exactly the original run's answer. */
  readonly targetIds?: readonly number[];
  readonly score?: TraceScore;
}

export interface TraceGrid {
  readonly window: number;
  /** scores[t][l]: mean over the noised rows of the answer's probability with (t, l) restored. */
  readonly scores: number[][];
}

/** The `locus trace` result (CONTRACTS.md). */
export interface TraceResult {
  readonly tokens: string[];
  readonly ids: number[];
  /** [b, e): the subject's tokens, e exclusive. */
  readonly subjectRange: [number, number];
  readonly answer: { id: number; token: string; ids: number[] };
  readonly highScore: number;
  readonly lowScore: number;
  readonly noiseLevel: number;
  readonly samples: number;
  readonly seed: number;
  readonly score: TraceScore;
  readonly grids: Partial<Record<TraceKind, TraceGrid>>;
  /** Fractional tracing effect per layer, max over tokens (seed paper §4.1, its notebook's clipping). */
  readonly tracingEffect: Partial<Record<TraceKind, number[]>>;
  /** Fractional effect per layer at the last subject token, unclipped (the paper's Fig. 16 variant). */
  readonly tracingEffectLastSubject: Partial<Record<TraceKind, number[]>>;
  readonly cells: number;
  readonly seconds: number;
}

/** One finished cell of a trace grid: `kind` restored at token `t`, layer `layer` (its window for mlp/attn). */
export interface TraceCellScore {
  readonly kind: TraceKind;
  readonly t: number;
  readonly layer: number;
  readonly score: number;
}

export interface TraceProgress {
  readonly done: number;
  readonly total: number;
  /** The cells finished since the previous report, with their final scores (a panel replaces its preview with them). */
  readonly cells?: readonly TraceCellScore[];
}
