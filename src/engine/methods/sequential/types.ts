import type { CaseOutcome, EditMethod } from '../edit/runEdit';
import type { EditSafety } from '../edit/safety';
import type { EditingProblem, FactCase } from '../problems/problems';
import type { ParamName } from '../../model/names';

/** What a sequential run is: the same spec always yields the same run (resuming checks it). */
export interface SequentialSpec {
  readonly method: EditMethod;
  readonly problem: EditingProblem;
  /** Requests per batch (k ≥ 1): one batch's edit is computed on the model with every earlier batch applied. */
  readonly batchSize: number;
  /** Measure after every `measureEvery` batches (and always after the last one); 1 = after each batch. */
  readonly measureEvery: number;
  readonly cases: readonly FactCase[];
  readonly layer?: number;
  readonly hparams?: Record<string, unknown>;
  readonly seed?: number;
  /** Tokens of the held-out perplexity sample (heldOut.ts). */
  readonly heldOutTokens: number;
}

/** Mean scores over every edit so far, against the unedited model (seed paper's normalised scores, ROME's success rates). */
export interface SequentialScores {
  readonly rewrite: number;
  readonly paraphrase: number;
  readonly neighborhood: number;
  readonly overall: number;
  /** ROME's ES / PS / NS (fraction of prompts where the right target wins). */
  readonly efficacySuccess: number;
  readonly paraphraseSuccess: number;
  readonly neighborhoodSuccess: number;
}

/** ‖W‖_F of one edited parameter now, and its ratio to the value before the run. */
export interface WeightNorm {
  readonly param: ParamName;
  readonly layer: number;
  readonly norm: number;
  readonly original: number;
  readonly growth: number;
}

/** One point of the curves: after `edits` requests (0 = the unedited model). */
export interface CurvePoint {
  readonly edits: number;
  readonly batches: number;
  /** null at 0 edits (no edit to score). */
  readonly scores: SequentialScores | null;
  readonly perplexity: number;
  readonly weightNorms: WeightNorm[];
}

/** A batch's delta as stored: the numbers live in the batch's binary file at [offset, offset + length) float32s. */
export interface StoredDelta {
  readonly param: ParamName;
  readonly kind: 'rank-one' | 'dense';
  /** dense: the ΔW shape; rank-one: [u length, v length]. */
  readonly shape: readonly number[];
  readonly offset: number;
  readonly length: number;
  readonly frobenius: number;
}

/** One line of batches.jsonl: a completed batch. */
export interface BatchRecord {
  readonly batch: number;
  /** The batch's requests (`index` into the spec's cases), each measured just before and after its batch, as `locus edit` reports it. */
  readonly requests: ReadonlyArray<{ readonly index: number } & CaseOutcome>;
  readonly layers: readonly number[];
  readonly deltas: readonly StoredDelta[];
  readonly seconds: number;
  /**
   * The batch's pre-flight checks (edit/safety.ts; CONTRACTS.md `safety`). A sequential run applies
   * every batch, flagged or not: watching a model degrade is what it is for; the flags say where.
   */
  readonly safety?: EditSafety;
  /** Present when the curves were measured after this batch. */
  readonly point?: CurvePoint;
}

export interface SequentialProgress {
  readonly batch: number;
  readonly batches: number;
  readonly edits: number;
  readonly stage: string;
  /** Seconds left at the pace of the batches computed in this process (undefined before the first one). */
  readonly etaSeconds?: number;
  /** The newest curve point (after a measurement). */
  readonly point?: CurvePoint;
}
