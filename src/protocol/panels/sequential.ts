/**
 * The Sequential Editing panel's messages (webview/sequential ⇄ src/extension/panels/sequentialPanel.ts)
 * and the worker's `sequential/run` params and result (src/protocol/engine.ts). A run is a folder
 * (engine methods/sequential/store.ts: manifest.json + batches.jsonl + deltas/); the host reads its
 * curve points from batches.jsonl while the worker appends them, so the curves grow live.
 */
import type { EditingProblem, EditMethod } from '../dto';
import type { WorkDoneParams } from '../engine';
import type { RenderTiming } from './fact';

/** Mean scores of all edits so far against the unedited model (NaN where a score does not apply). */
export interface SequentialScoresView {
  readonly rewrite: number;
  readonly paraphrase: number;
  readonly neighborhood: number;
  readonly overall: number;
  readonly efficacySuccess: number;
  readonly paraphraseSuccess: number;
  readonly neighborhoodSuccess: number;
}

/** One point of the curves (the engine's CurvePoint). */
export interface SequentialPointView {
  readonly edits: number;
  readonly batches: number;
  readonly scores: SequentialScoresView | null;
  readonly perplexity: number;
  readonly weightNorms: ReadonlyArray<{ readonly param: string; readonly layer: number; readonly norm: number; readonly original: number; readonly growth: number }>;
}

export interface SequentialSummary {
  readonly dir: string;
  readonly name: string;
  readonly model: string;
  readonly method: string;
  readonly problem: string;
  readonly batchSize: number;
  readonly requests: number;
  /** Requests in completed batches. */
  readonly done: number;
}

export interface SequentialView {
  readonly summary: SequentialSummary;
  /** The unedited model's point is absent until a run has measured it (it is not saved): the first point may be after some edits. */
  readonly points: readonly SequentialPointView[];
}

/** `sequential/run`: a new run (spec given) or the rest of the run in `dir` (no spec: the manifest's). */
export interface SequentialRunParams extends WorkDoneParams {
  readonly dir: string;
  readonly method?: EditMethod;
  /** A JSON file of requests (a list), or `cases` of the loaded dataset ("known:N", "0-99", "1,5,7"). */
  readonly requestsFile?: string;
  readonly cases?: string;
  readonly problem?: EditingProblem;
  readonly batchSize?: number;
  readonly measureEvery?: number;
  readonly heldOutTokens?: number;
  readonly cacheDir?: string;
  readonly statsDir?: string;
}

export interface SequentialRunResultDto {
  readonly dir: string;
  readonly requests: number;
  readonly done: number;
  readonly resumed: number;
  readonly seconds: number;
  /** Every point of this run, the unedited model's first. */
  readonly points: readonly SequentialPointView[];
}

/** Host → panel. */
export type SequentialToWebview = {
  /** On every `panel/ready`: the folder as read (null before the first read), a job still running. */
  'sequential/init': { readonly dir: string; readonly view: SequentialView | null; readonly error?: string; readonly running?: string };
  /** The folder read again (after a batch, a reload, or the end of a run). */
  'sequential/view': { readonly view: SequentialView };
};

/** Panel → host. */
export type SequentialFromWebview = {
  'sequential/reload': { readonly requestId: string };
  /** Run the batches the folder still lacks (the manifest's settings). */
  'sequential/resume': { readonly requestId: string };
  'render/timing': RenderTiming;
};
