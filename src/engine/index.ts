/**
 * The engine's one public door: the worker and the CLI import only this file.
 * Everything here is headless (no vscode, no IPC).
 */
export { LocusError, isLocusError } from './errors';
export type { LocusErrorCode } from './errors';
export type { ModelConfig, ModelType } from './model/config';
export { SUPPORTED_MODEL_TYPES } from './model/config';
export type { ActName, ParamName } from './model/names';
export { act, isActName } from './model/names';
export type { Tensor } from './tensor/tensor';
export { checkModelFolder, loadModel } from './model/model';
export type { LoadedModel, ModelManifest } from './model/model';
export type { Encoding, LocusTokenizer } from './model/tokenizer';
export { forward } from './interp/forward';
export type { ForwardOptions, ForwardResult } from './interp/forward';
export type { Intervention } from './interp/interventions';
export { probe, encodePrompt, forwardContext } from './interp/probe';
export type { ProbeResult } from './interp/probe';
export { generateText } from './interp/generate';
export { promptViews, casePrompts } from './methods/edit/promptViews';
export type { PromptView } from './methods/edit/promptViews';
export { topK, logSoftmax } from './interp/topk';
export type { RuntimeOptions, Device } from './runtime/ort';
export { trainDefaultModel, DEFAULT_RECIPE } from './train/defaultModel';
export { loadCounterFact, defaultDatasetPath } from './data/counterfact';
export { parseCaseSpec, selectCases, fillPrompt } from './data/counterfact';
export type { CounterFactRecord, CaseSpec } from './data/counterfact';
export { evaluateFacts, selectKnown, DEFAULT_EVAL_BATCH } from './methods/evaluate/knownFacts';
export type { FactEval, EvalAccuracy, EvaluateOptions } from './methods/evaluate/knownFacts';
export { runCausalTrace } from './methods/causalTrace/trace';
export type { TraceOptions } from './methods/causalTrace/trace';
export type { TraceRequest, TraceResult, TraceKind, TraceGrid, TraceProgress, TraceScore, NoiseRule } from './methods/causalTrace/types';
export { traceReportHtml } from './methods/causalTrace/report';
export type { TraceReportMeta } from './methods/causalTrace/report';
export { runEdit, EDIT_METHODS } from './methods/edit/runEdit';
export type { EditJob, EditOutcome, EditMethod } from './methods/edit/runEdit';
export { EDITING_PROBLEMS, factCaseOf } from './methods/problems/problems';
export type { EditingProblem, FactCase } from './methods/problems/problems';
export { exportModel } from './methods/edit/exportModel';
export { corpusFromTextFile } from './methods/stats/corpus';
export { writeModelCard } from './train/modelCard';
export { EditStack } from './methods/edit/edits';
export type { Edit, ParamDelta } from './methods/edit/edits';
export { runStudy, STUDY_TRACE, mergeStudies, mergeRows, sortRows, analyzeStudy, analyzeRows, meanCI, layerTracingR2, rSquared, olsFit, olsSummary, oneHot, fSurvival, nestedFTest, readResults, readManifest, ResultWriter, writeJsonAtomic, STUDY_METRICS, rowKey, shardCases } from './methods/study/index';
export type { StudyRunOptions, StudyRunSummary, MergeSummary, StudyAnalysis, RegressionRow, LayerSummary, MeanCI, StudySpec, StudyShard, StudyManifest, StudyRow, StudyMetrics, StudyMetric, StudyProgress } from './methods/study/index';
export { runSweep, studyTracingEffect, readStudy } from './methods/study/index';
export type { SweepRequest, SweepOptions, SweepProgress, SweepPoint, SweepResult, StudyTracingEffect } from './methods/study/index';
