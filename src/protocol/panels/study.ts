/**
 * The Study panel's messages (webview/study ⇄ src/extension/panels/studyPanel.ts), in the envelope of
 * ../panels.ts: the panel reads a study folder's analysis (`study/analyze`) and can resume a partial
 * study (`study/run` with the manifest's spec). Jobs carry a requestId; the result message comes before
 * `job/done`. The scatter's points travel as typed-array columns (structured clone, not JSON).
 */
import type { LayerMeansDto, RegressionRowDto } from '../dto';
import type { RenderTiming } from './fact';

export type StudyMetricName = 'rewrite' | 'paraphrase' | 'neighborhood' | 'overall';
export const STUDY_METRIC_NAMES: readonly StudyMetricName[] = ['rewrite', 'paraphrase', 'neighborhood', 'overall'];

/** One results.jsonl row per index. Undefined scores are NaN (the JSON-RPC leg's nulls are turned back). */
export interface StudyPointColumns {
  readonly count: number;
  /** Names the `method` / `problem` index columns point into. */
  readonly methods: readonly string[];
  readonly problems: readonly string[];
  readonly method: Uint8Array;
  readonly problem: Uint8Array;
  readonly caseId: Int32Array;
  readonly layer: Int32Array;
  readonly tracingEffect: Float32Array;
  readonly rewrite: Float32Array;
  readonly paraphrase: Float32Array;
  readonly neighborhood: Float32Array;
  readonly overall: Float32Array;
}

/** A row of the R² table (the seed paper's Tables 3–6 columns); NaN where R² is undefined. */
export interface R2RowView extends RegressionRowDto {
  readonly metric: StudyMetricName;
}

/** Per method × problem × layer: mean and 95% interval of the tracing effect and of each score (NaN where undefined). */
export type LayerMeansView = LayerMeansDto;

/** The study folder, from its manifest: what the header shows and whether Resume makes sense. */
export interface StudySummary {
  readonly dir: string;
  /** The folder's name. */
  readonly name: string;
  readonly model: string;
  readonly nLayers?: number;
  readonly cases: number;
  readonly methods: readonly string[];
  readonly problems: readonly string[];
  readonly layers: readonly number[];
  readonly started?: string;
  /** "i/n" for a shard folder. */
  readonly shard?: string;
  readonly merged: boolean;
  /** Rows in results.jsonl, and rows the spec asks for (fewer: a partial study). */
  readonly rows: number;
  readonly expected: number;
  /**
   * The localization variable the rows' effect holds (manifest.localization; `noise` for older studies):
   * Causal Tracing's Gaussian noise, or MLP activation patching from a counterfactual (issue 19 item 2).
   */
  readonly localization: 'noise' | 'patching';
  /** Set when Resume is not offered for a partial study (a shard resumes with the CLI's --shard). */
  readonly resumeNote?: string;
}

export interface StudyView {
  readonly summary: StudySummary;
  readonly rows: readonly R2RowView[];
  readonly perLayer: readonly LayerMeansView[];
  readonly points: StudyPointColumns;
}

/** Host → Study panel. (Type aliases, not interfaces: a MessageMap needs an implicit index signature.) */
export type StudyToWebview = {
  /** Sent on every `panel/ready`: the last analysis (null before the first), and a resume still running. */
  'study/init': {
    readonly dir: string;
    readonly view: StudyView | null;
    /** Why the folder could not be read (no manifest, no results yet, …). */
    readonly error?: string;
    readonly running?: { readonly resume?: string; readonly reload?: string };
  };
  /** The analysis, answering `study/reload` and after a resume (also a cancelled one). */
  'study/analysis': { readonly requestId: string; readonly view: StudyView };
};

/** Study panel → host. */
export type StudyFromWebview = {
  /** Read the folder again and answer `study/analysis`. */
  'study/reload': { readonly requestId: string };
  /** Run the rest of a partial study (the manifest's spec), then answer `study/analysis`. */
  'study/resume': { readonly requestId: string };
  'render/timing': RenderTiming;
};
