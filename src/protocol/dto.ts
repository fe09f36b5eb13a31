/**
 * Shared JSON shapes (DTOs) of the contracts in src/protocol. Plain JSON only: no classes, no typed
 * arrays (they serialize as objects with numeric keys), no undefined-vs-absent distinctions that
 * matter. Small grids travel as number[][]; large tensors never travel over JSON-RPC.
 *
 * The unions below mirror the engine's (src/engine); the worker checks at compile time that the
 * engine's values fit them, so a new engine value fails the build rather than the wire.
 */
import type { ParamName } from '../engine/model/names';

/** The engine's error codes (src/engine/errors.ts); 'internal' marks a bug (any non-LocusError). */
export type LocusErrorCode =
  | 'not-found'
  | 'bad-config'
  | 'unsupported-architecture'
  | 'bad-weights'
  | 'missing-tensor'
  | 'shape-mismatch'
  | 'unsupported-format'
  | 'missing-tokenizer'
  | 'bad-input'
  | 'cancelled'
  | 'non-finite'
  | 'io'
  | 'busy';
export type EngineErrorCode = LocusErrorCode | 'internal';

export type Device = 'cpu' | 'webgpu' | 'cuda';
/**
 * An editing method's id (the engine's registry: methods/registry/index.ts). A string, checked against
 * the list the worker sends (`EditMethodDto[]`), so a new method needs no protocol change.
 */
export type EditMethod = string;

/** One editing method as clients list it (the worker's `edit/methods`, from the engine's registry). */
export interface EditMethodDto {
  readonly id: EditMethod;
  readonly label: string;
  readonly summary: string;
  /** Whether it supports the fact-forcing problem. */
  readonly factForcing: boolean;
}
export type EditingProblem = 'error-injection' | 'tracing-reversal' | 'fact-erasure' | 'fact-amplification' | 'fact-forcing';
export type TraceKind = 'hidden' | 'mlp' | 'attn';
export type TraceScore = 'first-token' | 'sequence';
/** 's3' = 3 × std of the subjects' token embeddings; a number = that σ. */
export type NoiseRule = `s${number}` | number;

/** The loaded model: its manifest plus load warnings. */
export interface ModelInfo {
  readonly name: string;
  readonly path: string;
  readonly architecture: string;
  readonly n_layers: number;
  readonly d_model: number;
  readonly n_heads: number;
  readonly d_vocab: number;
  readonly n_ctx: number;
  readonly parameters: number;
  /** Changes whenever the weights files do. */
  readonly fingerprint: string;
  readonly device: string;
  readonly warnings: readonly string[];
  /** The editing methods this worker offers (the engine's registry), in display order. */
  readonly methods: readonly EditMethodDto[];
}

/** A model repository of the Hugging Face cache, described without loading it (`model/cached`; `locus models --json`). */
export interface CachedModelDto {
  /** `org/name`. */
  readonly repoId: string;
  /** The snapshot folder to load (absent when the repo has none). */
  readonly path?: string;
  readonly revision?: string;
  /** config.json's `model_type`. */
  readonly modelType?: string;
  readonly familySupported: boolean;
  readonly parameters?: number;
  /** Storage dtype as safetensors spells it (BF16, F16, F32); "BF16+F32" when mixed. */
  readonly dtype?: string;
  readonly sizeBytes: number;
  /** Why Locus cannot open it; absent when it can. */
  readonly problem?: { readonly code: LocusErrorCode; readonly reason: string };
}

/** The cache that was read and its models, by repo id. */
export interface CachedModelsDto {
  readonly cacheDir: string;
  readonly models: readonly CachedModelDto[];
}

/** The next-token distribution after a prompt's last token (as `locus probe --json`, without the manifest). */
export interface ProbeResultDto {
  readonly tokens: readonly string[];
  readonly ids: readonly number[];
  readonly top: ReadonlyArray<{ readonly id: number; readonly token: string; readonly prob: number; readonly logprob: number }>;
}

export interface TraceGridDto {
  readonly window: number;
  /** scores[t][l]: mean p(answer) with (token t, layer l) restored. [tokens, layers] */
  readonly scores: number[][];
}

/** A Causal Tracing result (as `locus trace --json`). */
export interface TraceResultDto {
  readonly tokens: readonly string[];
  readonly ids: readonly number[];
  /** [b, e): the subject's tokens, e exclusive. */
  readonly subjectRange: readonly [number, number];
  readonly answer: { readonly id: number; readonly token: string; readonly ids: readonly number[] };
  readonly highScore: number;
  readonly lowScore: number;
  readonly noiseLevel: number;
  readonly samples: number;
  readonly seed: number;
  readonly score: TraceScore;
  readonly grids: Partial<Record<TraceKind, TraceGridDto>>;
  readonly tracingEffect: Partial<Record<TraceKind, readonly number[]>>;
  readonly tracingEffectLastSubject: Partial<Record<TraceKind, readonly number[]>>;
  readonly cells: number;
  readonly seconds: number;
}

/** A rewrite request with its evaluation prompts (CounterFact's requested_rewrite fields). */
export interface FactCaseDto {
  /** A template with one "{}" where the subject goes. */
  readonly prompt: string;
  readonly subject: string;
  readonly target_new: { readonly str: string };
  readonly target_true: { readonly str: string };
  readonly paraphrase_prompts?: readonly string[];
  readonly neighborhood_prompts?: readonly string[];
}

export interface EditScoresDto {
  readonly rewrite: number;
  readonly paraphrase: number;
  readonly neighborhood: number;
  readonly overall: number;
}

export interface RomeSuccessDto {
  readonly efficacy: number;
  readonly paraphrase: number;
  readonly neighborhood: number;
  readonly efficacyMagnitude: number;
  readonly paraphraseMagnitude: number;
  readonly neighborhoodMagnitude: number;
}

/** One request's numbers before and after an edit. */
export interface CaseOutcomeDto {
  readonly pre: { readonly targetNewLogprob: number; readonly targetTrueLogprob: number };
  readonly post: { readonly targetNewLogprob: number; readonly targetTrueLogprob: number };
  readonly metrics: EditScoresDto;
  readonly romeMetrics: RomeSuccessDto;
  readonly target: string;
}

/** An edit that is applied to the worker's model, oldest first in an EditStackDto. */
export interface AppliedEditDto {
  /** Worker-assigned ("e1", "e2", …), unique for the worker's lifetime. */
  readonly id: string;
  readonly method: EditMethod;
  readonly layers: readonly number[];
  readonly problem: EditingProblem;
  readonly subjects: readonly string[];
  readonly targets: readonly string[];
  readonly deltas: ReadonlyArray<{ readonly param: ParamName; readonly frobenius: number }>;
}

/** The edits applied to the loaded model, oldest first. Empty: the model is the file's. */
export interface EditStackDto {
  readonly edits: readonly AppliedEditDto[];
}

/** `edit/run`'s answer: the first request's numbers at top level (as `locus edit --json`), and the edit kept applied. */
export interface EditResultDto extends CaseOutcomeDto {
  readonly id: string;
  readonly method: EditMethod;
  readonly layers: readonly number[];
  readonly problem: EditingProblem;
  readonly deltas: ReadonlyArray<{ readonly param: ParamName; readonly frobenius: number }>;
  readonly seconds: number;
  readonly requests: readonly CaseOutcomeDto[];
  /** The merged hparams actually used (the reference's snake_case keys). */
  readonly hparams: unknown;
  readonly contextTemplates?: readonly string[];
  readonly notes: readonly string[];
  /** The stack after this edit was applied. */
  readonly stack: EditStackDto;
  /** Only when the request asked for `details`. */
  readonly details?: EditDetailsDto;
  /** Pre-flight safety checks (CONTRACTS.md "safety"); a flagged edit is not applied unless the request had `force`. */
  readonly safety?: EditSafetyDto;
  /** False when the edit was flagged and not applied (`id` is then empty and `stack` unchanged). */
  readonly applied?: boolean;
}

/** One CounterFact record, reduced to what lists and pickers show. */
export interface DatasetRecordDto {
  readonly case_id: number;
  readonly subject: string;
  readonly relation_id: string;
  /** The template with "{}" where the subject goes. */
  readonly prompt: string;
  readonly target_true: string;
  readonly target_new: string;
}

export interface DatasetSummary {
  /** Absolute path of the file that was read. */
  readonly path: string;
  readonly count: number;
  readonly records: readonly DatasetRecordDto[];
}

/** One prompt's next-token view: the top token and the two targets' probabilities (first token). */
export interface PromptViewDto {
  readonly top: string;
  readonly topProb: number;
  /** p(target_new) and p(target_true), the whole target string (product over its tokens). */
  readonly pNew: number;
  readonly pTrue: number;
}

/** A rewrite / paraphrase / neighborhood prompt, before and after an edit (the Edit panel's table). */
export interface PromptPredictionDto {
  readonly kind: 'rewrite' | 'paraphrase' | 'neighborhood';
  /** The prompt with the subject filled in. */
  readonly prompt: string;
  readonly before: PromptViewDto;
  readonly after: PromptViewDto;
}

/** A short generation from the rewrite prompt, before and after the edit (same seed both times). */
export interface GenerationPairDto {
  readonly prompt: string;
  readonly before: string;
  readonly after: string;
}

/** `edit/run` with `details: true`: what the Edit panel shows beyond the scores. */
export interface EditDetailsDto {
  readonly predictions: readonly PromptPredictionDto[];
  readonly generation: GenerationPairDto;
}

/** A short generation (`generate/run`). */
export interface GenerationDto {
  readonly prompt: string;
  /** The continuation only (the prompt excluded). */
  readonly text: string;
  readonly tokens: readonly string[];
}

/** One (method, layer) of a layer sweep: the edit's scores there (the edit was measured and reverted). */
export interface SweepPointDto {
  readonly method: EditMethod;
  readonly layer: number;
  readonly editLayers: readonly number[];
  readonly metrics: { readonly rewrite: number | null; readonly paraphrase: number | null; readonly neighborhood: number | null; readonly overall: number | null };
  readonly seconds: number;
}

/** `sweep/run`: one fact, every chosen layer × method, over its MLP tracing effect per layer. */
export interface SweepResultDto {
  readonly caseId?: number;
  readonly subject: string;
  readonly problem: EditingProblem;
  /** Per layer: the fraction of the tracing effect at that layer (the study's definition, max over tokens). */
  readonly tracingEffect: readonly number[];
  readonly points: readonly SweepPointDto[];
}

export interface MeanCIDto {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
  readonly n: number;
}

/** A row of the seed paper's R² tables (Tables 3–6): edit success on layer vs layer + layer × tracing effect. */
export interface RegressionRowDto {
  readonly method: string;
  readonly problem: string;
  readonly metric: string;
  readonly n: number;
  readonly r2Layer: number;
  readonly r2LayerTracing: number;
  readonly r2Gain: number;
  /** R² of the tracing effect alone. */
  readonly r2Tracing: number;
  readonly pValue: number;
}

/** Per method × problem × layer: mean and 95% interval of the tracing effect and of each score. */
export interface LayerMeansDto {
  readonly method: string;
  readonly problem: string;
  readonly layer: number;
  readonly n: number;
  readonly tracingEffect: MeanCIDto;
  readonly rewrite: MeanCIDto;
  readonly paraphrase: MeanCIDto;
  readonly neighborhood: MeanCIDto;
  readonly overall: MeanCIDto;
}

/** `study/analyze`: the regression table, per-layer curves and the raw points for the scatter (as `locus study analyze --json`). */
export interface StudyAnalysisDto {
  readonly dir: string;
  /** The study's manifest.json, as written. */
  readonly manifest: unknown;
  readonly rows: readonly RegressionRowDto[];
  readonly perLayer: readonly LayerMeansDto[];
  /** One point per results.jsonl row: tracing effect vs the scores. */
  readonly points: ReadonlyArray<{
    readonly caseId: number;
    readonly method: string;
    readonly problem: string;
    readonly layer: number;
    readonly tracingEffect: number;
    readonly rewrite: number | null;
    readonly paraphrase: number | null;
    readonly neighborhood: number | null;
    readonly overall: number | null;
  }>;
}

/** `study/run`'s answer. */
export interface StudyRunResultDto {
  readonly dir: string;
  /** Rows in results.jsonl now, and how many this call added (a resumed run adds fewer). */
  readonly rows: number;
  readonly added: number;
  readonly total: number;
  readonly seconds: number;
}

/** One pre-flight check of an edit (engine: methods/edit/safety.ts; thresholds in README "Edit safety"). */
export interface SafetyCheckDto {
  readonly name: 'update-denominator' | 'delta-norm-ratio' | 'subject-first-token' | 'canary-perplexity';
  readonly value: number;
  readonly threshold: number;
  readonly flagged: boolean;
  /** `below`: flagged when value < threshold; `above`: when value > threshold. */
  readonly flaggedWhen: 'below' | 'above';
  readonly layer?: number;
  readonly param?: ParamName;
  readonly request?: number;
  /** One line for people: the numbers behind the value. */
  readonly note: string;
}

/** `safety` of every edit result: flagged when any check is. */
export interface EditSafetyDto {
  readonly flagged: boolean;
  readonly checks: readonly SafetyCheckDto[];
}

/** The protocols an edit's scores are computed under (engine: methods/problems/protocols.ts; README "Which metric?"). */
export type MetricProtocolDto = 'hase-normalized' | 'rome-probability' | 'token-accuracy' | 'generation';
export const METRIC_PROTOCOL_NAMES: readonly MetricProtocolDto[] = ['hase-normalized', 'rome-probability', 'token-accuracy', 'generation'];

/** rewrite / paraphrase / neighborhood / overall under one protocol (NaN → null on the wire: not applicable). */
export interface ProtocolScoresDto extends EditScoresDto {
  readonly protocol: MetricProtocolDto;
  /** generation only: tokens decoded beyond the target's own length. */
  readonly extraTokens?: number;
}

// Declaration merging keeps these additions append-only (CONTRACTS.md "Next": every metric object
// gains a protocol tag, every edit result `metricsByProtocol`). Optional: results saved before them lack them.
export interface EditScoresDto {
  readonly protocol?: MetricProtocolDto;
}
export interface CaseOutcomeDto {
  readonly metricsByProtocol?: Readonly<Record<MetricProtocolDto, ProtocolScoresDto>>;
}
export interface SweepPointDto {
  /** Every protocol's scores of this point's edit (null: not applicable); absent in sweeps saved before them. */
  readonly metricsByProtocol?: Partial<Record<MetricProtocolDto, { readonly rewrite: number | null; readonly paraphrase: number | null; readonly neighborhood: number | null; readonly overall: number | null; readonly protocol?: MetricProtocolDto }>>;
}
