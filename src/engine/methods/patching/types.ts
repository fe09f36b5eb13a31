/** Which activation a patch copies: the block output (residual stream), the MLP output, or the attention output. */
export type PatchKind = 'resid' | 'mlp' | 'attn';
export const PATCH_KINDS: readonly PatchKind[] = ['resid', 'mlp', 'attn'];

/**
 * denoise: copy clean activations into the corrupted run (how much does this state restore?);
 * noise: copy corrupted activations into the clean run (how much does losing it break?).
 */
export type PatchDirection = 'denoise' | 'noise';

/** logit-diff: logit(answer) − logit(counterfactual answer); prob-diff: the same with probabilities (both at the last position). */
export type PatchMetric = 'logit-diff' | 'prob-diff';

export interface PatchRequest {
  /** The clean prompt, the subject filled in. */
  readonly prompt: string;
  readonly subject: string;
  /** A subject of the same token length put in the subject's place (symmetric token replacement). */
  readonly counterfactualSubject: string;
  /** The true answer (a leading space added when missing); its first token is scored. */
  readonly answer: string;
  /** The counterfactual prompt's answer (its record's target_true). */
  readonly counterfactualAnswer: string;
  readonly kinds?: readonly PatchKind[];
  /** Layers each mlp/attn cell patches around its layer (ROME's window; resid always 1). Default 1. */
  readonly window?: number;
  readonly direction?: PatchDirection;
  readonly metric?: PatchMetric;
  /** Also patch each attention head's output z_h W_O^h per (token, layer). */
  readonly heads?: boolean;
}

export interface PatchGrid {
  readonly window: number;
  /** effect[t][l] = (m_patched − m_corrupt) / (m_clean − m_corrupt); tokens before the subject are not run (0 when denoising, 1 when noising). */
  readonly effect: number[][];
}

/** The `locus patch` result. */
export interface PatchResult {
  readonly tokens: string[];
  readonly counterfactualTokens: string[];
  /** [b, e): the subject's tokens (the counterfactual subject's too), e exclusive. */
  readonly subjectRange: [number, number];
  readonly answer: { id: number; token: string };
  readonly counterfactualAnswer: { id: number; token: string };
  readonly counterfactualSubject: string;
  readonly direction: PatchDirection;
  readonly metric: PatchMetric;
  /** The metric on the clean and on the corrupted prompt. */
  readonly clean: number;
  readonly corrupted: number;
  readonly grids: Partial<Record<PatchKind, PatchGrid>>;
  /**
   * Max over tokens from the first subject token of the effect per layer (the tracing effect's
   * convention, unclipped). When noising, important states are the low ones: read the grid's minima instead.
   */
  readonly effectByLayer: Partial<Record<PatchKind, number[]>>;
  /** heads[t][l][h]: the effect of patching head h's output at (t, l). */
  readonly heads?: number[][][];
  readonly cells: number;
  readonly seconds: number;
}
