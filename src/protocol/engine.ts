/**
 * The worker API: extension host (client) ⇄ worker process (server), vscode-jsonrpc over Node IPC.
 * `EngineProtocol` is the single source of truth: method → [params, result]. Both ends derive their
 * typed request/handler signatures from it (src/extension/workerClient.ts, src/worker/serve.ts).
 *
 * Rules every method follows:
 * - Params and results are plain JSON (src/protocol/dto.ts); params are always an object (by name).
 * - The worker runs requests one at a time, in arrival order (one model per worker, no races);
 *   only `worker/shutdown` bypasses the queue.
 * - Cancellation: the client cancels with `$/cancelRequest` (vscode-jsonrpc's CancellationToken).
 *   A queued request is dropped; a running one is aborted at the engine's next check. Either way the
 *   worker answers with an error whose data.code is 'cancelled' (JSON-RPC code -32800).
 * - Progress: LSP work-done style. A client that wants progress puts a fresh `workDoneToken` in the
 *   params and listens for `$/progress` { token, value: JobProgress } with that token. The worker
 *   sends `begin` when the job leaves the queue (so "queued" vs "running" is visible), any number
 *   of `report`s, and `end` just before the response (success, failure or cancellation alike).
 * - Errors: an engine LocusError comes back as a ResponseError with the same message and
 *   data { code }; anything else as code -32603 with data { code: 'internal', stack }.
 */
import type {
  CachedModelsDto,
  DatasetSummary,
  Device,
  EditingProblem,
  EditMethod,
  EditResultDto,
  EditStackDto,
  EngineErrorCode,
  FactCaseDto,
  ModelInfo,
  NoiseRule,
  GenerationDto,
  ProbeResultDto,
  StudyAnalysisDto,
  StudyRunResultDto,
  SweepResultDto,
  TraceKind,
  TraceResultDto,
  TraceScore,
} from './dto';

import type { SequentialRunParams, SequentialRunResultDto } from './panels/sequential';
import type { CostEstimateDto, CostEstimateParams } from './cost';
import type { LensParams, LensResultDto } from './panels/lens';

/** A `$/progress` token (LSP ProgressToken). */
export type ProgressToken = string | number;

/** Params of every method that can report progress. */
export interface WorkDoneParams {
  /** When set, the worker sends `$/progress` { token: workDoneToken, value: JobProgress } for this job. */
  readonly workDoneToken?: ProgressToken;
}

/** The `value` of a `$/progress` notification (worker → client). */
export interface JobProgress {
  readonly kind: 'begin' | 'report' | 'end';
  /** A stage, for jobs without a count ("measuring before the edit"). */
  readonly message?: string;
  /** Units done out of `total` (e.g. trace cells); `done` only increases within a job. */
  readonly done?: number;
  readonly total?: number;
  /** `trace/run` with `preview`: the attribution preview (first report), then the cells finished since the last report. */
  readonly trace?: TraceStreamDto;
}

/** A trace grid's streamed results (issue 19 item 4): the approximate grids first, then exact cells as they finish. */
export interface TraceStreamDto {
  readonly preview?: TracePreviewDto;
  readonly cells?: readonly TraceCellDto[];
}

/** One finished cell: `kind` restored at token `t`, layer `layer` (its window for mlp/attn); `score` as in the final grid. */
export interface TraceCellDto {
  readonly kind: TraceKind;
  readonly t: number;
  readonly layer: number;
  readonly score: number;
}

/** The attribution-patching estimate of the trace grid (engine's AttributionPreview): same shape as the trace's grids, `lowScore` from the first noise draw. */
export type TracePreviewDto = Omit<TraceResultDto, 'samples' | 'tracingEffect' | 'tracingEffectLastSubject' | 'cells'> & { readonly metric: 'prob' | 'logprob'; readonly approximate: true };

/** `data` of every error response from the worker. */
export interface EngineErrorData {
  readonly code: EngineErrorCode;
  /** Only for 'internal' errors (bugs): the worker's stack trace. */
  readonly stack?: string;
}

/** JSON-RPC error codes the worker answers with (LSP's values where LSP has one). */
export const ENGINE_ERROR_CODES = {
  /** data.code 'cancelled' (LSP RequestCancelled). */
  cancelled: -32800,
  /** A LocusError the user can act on; data.code says which (LSP RequestFailed). */
  failed: -32803,
  /** A bug in the worker; data.stack has the trace (JSON-RPC InternalError). */
  internal: -32603,
} as const;

/** The method that carries progress (vscode-jsonrpc's ProgressType uses it). */
export const PROGRESS_METHOD = '$/progress';

export type EmptyParams = Record<string, never>;

export interface LoadParams extends WorkDoneParams {
  /** A Hugging Face folder, or 'default' for the embedded model. */
  readonly model: string;
  /** Intra-op threads per ORT session (default: the engine's). */
  readonly threads?: number;
  readonly device?: Device;
  /** Load weights holding NaN/Inf with a warning instead of refusing them (the CLI's --allow-nonfinite; setting locus.allowNonFinite). */
  readonly allowNonFinite?: boolean;
}

export interface ProbeParams extends WorkDoneParams {
  readonly prompt: string;
  /** How many top tokens (default 10). */
  readonly k?: number;
}

/** A Causal Tracing request (the engine's TraceRequest) plus the batch size knob. */
export interface TraceParams extends WorkDoneParams {
  readonly prompt: string;
  /** Must occur in the prompt. */
  readonly subject: string;
  readonly kinds?: readonly TraceKind[];
  readonly window?: number;
  readonly samples?: number;
  readonly noise?: NoiseRule;
  readonly noiseSubjects?: readonly string[];
  readonly seed?: number;
  readonly target?: string;
  readonly score?: TraceScore;
  /** Batch rows per restored run; smaller means finer progress and quicker cancellation (default 160). */
  readonly maxRows?: number;
  /** `trace/run`: send the attribution preview first and every finished cell in progress reports (JobProgress.trace). Default false. */
  readonly preview?: boolean;
}

/** An edit job (the engine's EditJob): exactly one of `cases` or `caseIds`. */
export interface EditParams extends WorkDoneParams {
  readonly method: EditMethod;
  /** Central layer (ft5/memit: the window's centre); default: the method's preset. */
  readonly layer?: number;
  readonly cases?: readonly FactCaseDto[];
  /** case_ids of the dataset last loaded with `dataset/load`. */
  readonly caseIds?: readonly number[];
  /** Default 'error-injection'. */
  readonly problem?: EditingProblem;
  /** The reference implementation's hparams (snake_case); unknown keys come back as notes. */
  readonly hparams?: Readonly<Record<string, unknown>>;
  /** ROME: a flat list of "{}" templates; MEMIT: also nested groups. */
  readonly contextTemplates?: readonly string[] | readonly (readonly string[])[];
  readonly seed?: number;
  readonly editingNoise?: number;
  readonly firstOnly?: boolean;
  /** A text file (one document per line) for ROME/MEMIT key statistics; default: the bundled WikiText-2. */
  readonly statsCorpus?: string;
  /** Statistics cache folder (pass an absolute path); default the user-level cache, ~/.cache/locus/stats. */
  readonly cacheDir?: string;
  /** A folder of ROME/MEMIT published `.npz` statistics (DIR/wikipedia_stats/…), used instead of computing C. */
  readonly statsDir?: string;
  /** Also answer `details` (predictions on every prompt of the first request before/after, a generation before/after). */
  readonly details?: boolean;
  /** Apply the edit even when its pre-flight safety checks flag it (default: a flagged edit is answered, not applied). */
  readonly force?: boolean;
}

export interface GenerateParams extends WorkDoneParams {
  readonly prompt: string;
  /** New tokens to generate (default 20). */
  readonly maxNewTokens?: number;
  /** Top-k sampling (default 5, ROME's; 1 = greedy). */
  readonly topK?: number;
  readonly seed?: number;
}

/** A layer sweep for one fact: trace once (MLP, window 5), then edit/measure/revert at every layer × method. */
export interface SweepParams extends WorkDoneParams {
  /** A case_id of the loaded dataset, or an inline case. */
  readonly caseId?: number;
  readonly case?: FactCaseDto;
  readonly methods: readonly EditMethod[];
  /** Default 'error-injection'. */
  readonly problem?: EditingProblem;
  /** Default: every layer. */
  readonly layers?: readonly number[];
  readonly hparams?: Readonly<Record<string, unknown>>;
  readonly cacheDir?: string;
  readonly statsDir?: string;
}

/** A study (the CLI's `locus study run`): resumes when `dir` already holds the same study. */
export interface StudyRunParams extends WorkDoneParams {
  /** Output folder (absolute), e.g. <workspace>/.locus/runs/<name>. */
  readonly dir: string;
  /** As the CLI's --cases: "known:N", "0-99", "1,5,7". */
  readonly cases: string;
  readonly methods: readonly EditMethod[];
  readonly problems?: readonly EditingProblem[];
  /** Default: every layer. */
  readonly layers?: readonly number[];
  readonly seed?: number;
  readonly cacheDir?: string;
  readonly statsDir?: string;
  /** The localization variable (`locus study run --localization`): noise (default) or patching. */
  readonly localization?: 'noise' | 'patching';
}

export interface ExportResult {
  /** Absolute path of the new model folder. */
  readonly dir: string;
  /** Ids of the edits baked into it, oldest first. */
  readonly edits: readonly string[];
}

export type EngineProtocol = {
  /** Client → worker: load this model, replacing (and disposing) the current one and dropping its edits; answer its info. */
  'model/load': [LoadParams, ModelInfo];
  /** Client → worker: answer the loaded model's info, or null when none is loaded. */
  'model/info': [EmptyParams, ModelInfo | null];
  /**
   * Client → worker: list the models in the Hugging Face cache (offline; `cacheDir`: a hub folder or an
   * HF_HOME holding hub/, default the worker's $HF_HUB_CACHE / $HF_HOME/hub / ~/.cache/huggingface/hub).
   * Loads nothing: load one with `model/load` and its `path`. Answered at once, beside any running or
   * queued job (it reads only the file system).
   */
  'model/cached': [{ readonly cacheDir?: string }, CachedModelsDto];
  /** Client → worker: run one forward pass on the loaded (possibly edited) model and answer the top-k next tokens. */
  'probe/run': [ProbeParams, ProbeResultDto];
  /** Client → worker: run Causal Tracing with progress (done/total = cells); answer the grids (number[][]). */
  'trace/run': [TraceParams, TraceResultDto];
  /** Client → worker: compute the edit, measure before/after, and KEEP it applied; answer the numbers and the new edit's id. */
  'edit/run': [EditParams, EditResultDto];
  /** Client → worker: revert the applied edit with this id (the others stay, exactly); answer the stack. */
  'edit/revert': [{ readonly id: string }, EditStackDto];
  /** Client → worker: revert every edit (the weights become the file's, bit for bit); answer the (empty) stack. */
  'edit/revertAll': [EmptyParams, EditStackDto];
  /** Client → worker: answer the applied edits, oldest first. */
  'edit/list': [EmptyParams, EditStackDto];
  /** Client → worker: write the edited model to a new or empty folder `dir` (never the source); answer what was written. */
  'edit/export': [{ readonly dir: string } & WorkDoneParams, ExportResult];
  /** Client → worker: sample a short continuation of a prompt on the loaded (possibly edited) model. */
  'generate/run': [GenerateParams, GenerationDto];
  /** Client → worker: layer sweep of one fact (each edit measured and reverted; the stack is unchanged). */
  'sweep/run': [SweepParams, SweepResultDto];
  /** Client → worker: run (or resume) a study into `dir`; progress done/total = edits, with ETA messages. */
  'study/run': [StudyRunParams, StudyRunResultDto];
  /** Client → worker: analyze a finished (or partial) study folder. */
  'study/analyze': [{ readonly dir: string }, StudyAnalysisDto];
  /** Client → worker: load a CounterFact file (default: the bundled sample), keep it for `caseIds`, answer a summary. */
  'dataset/load': [{ readonly path?: string } & WorkDoneParams, DatasetSummary];
  /** Client → worker: cancel every job, dispose the model, answer null, then exit the process. */
  'worker/shutdown': [EmptyParams, null];
  /**
   * Client → worker: Causal Tracing of the model as it is (with the applied edits) and of the file's
   * weights (the edits lifted, then put back as the same tensors), same draws, σ and answer; progress
   * done/total over both grids. Refused when no edit is applied.
   */
  'trace/retrace': [TraceParams, RetraceResultDto];
  /** Client → worker: run (or resume) a sequential editing run into `dir` on the file's weights; progress done/total = edits. */
  'sequential/run': [SequentialRunParams, SequentialRunResultDto];
  /** Client → worker: the logit lens of a prompt on the loaded (possibly edited) model; progress done/total = layers. */
  'lens/run': [LensParams, LensResultDto];
  /** Client → worker: the work a trace grid, sweep or study would do and its estimated seconds on this machine; starts nothing. */
  'cost/estimate': [CostEstimateParams, CostEstimateDto];
};

export type EngineMethod = keyof EngineProtocol;
export type EngineParams<M extends EngineMethod> = EngineProtocol[M][0];
export type EngineResult<M extends EngineMethod> = EngineProtocol[M][1];

/** Method names, for code that prefers constants to string literals. */
export const EngineMethods = {
  modelLoad: 'model/load',
  modelInfo: 'model/info',
  modelCached: 'model/cached',
  probeRun: 'probe/run',
  traceRun: 'trace/run',
  editRun: 'edit/run',
  editRevert: 'edit/revert',
  editRevertAll: 'edit/revertAll',
  editList: 'edit/list',
  editExport: 'edit/export',
  datasetLoad: 'dataset/load',
  generateRun: 'generate/run',
  sweepRun: 'sweep/run',
  studyRun: 'study/run',
  studyAnalyze: 'study/analyze',
  workerShutdown: 'worker/shutdown',
  traceRetrace: 'trace/retrace',
  sequentialRun: 'sequential/run',
  lensRun: 'lens/run',
  costEstimate: 'cost/estimate',
} as const satisfies Record<string, EngineMethod>;

/** Every method (the record's keys make the compiler check that none is missing or misspelled). */
export const ENGINE_METHODS: readonly EngineMethod[] = Object.keys({
  'model/load': 0,
  'model/info': 0,
  'model/cached': 0,
  'probe/run': 0,
  'trace/run': 0,
  'edit/run': 0,
  'edit/revert': 0,
  'edit/revertAll': 0,
  'edit/list': 0,
  'edit/export': 0,
  'dataset/load': 0,
  'generate/run': 0,
  'sweep/run': 0,
  'study/run': 0,
  'study/analyze': 0,
  'worker/shutdown': 0,
  'trace/retrace': 0,
  'sequential/run': 0,
  'lens/run': 0,
  'cost/estimate': 0,
} satisfies Record<EngineMethod, 0>) as EngineMethod[];

/**
 * `trace/retrace`'s answer (CONTRACTS.md, locus trace --edit): the top-level fields are the edited
 * model's trace; `original` the file's weights under the same draws; `difference` edited − original per
 * cell; `edit` the applied edits' methods and layers (a view marks those layers).
 */
export type RetraceResultDto = TraceResultDto & {
  readonly original: { readonly highScore: number; readonly lowScore: number; readonly grids: TraceResultDto['grids'] };
  readonly difference: { readonly grids: TraceResultDto['grids'] };
  readonly edit: { readonly method: string; readonly layers: readonly number[] };
};
