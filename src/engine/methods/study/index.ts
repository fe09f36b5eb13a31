/** The regression study (seed paper §6): run, merge, analyze. */
export { runStudy } from './run';
export { runSweep, studyTracingEffect, STUDY_TRACE } from './sweep';
export type { SweepRequest, SweepOptions, SweepProgress, SweepPoint, SweepResult, StudyTracingEffect } from './sweep';
export type { StudyRunOptions, StudyRunSummary } from './run';
export { mergeStudies, mergeRows, sortRows } from './merge';
export type { MergeSummary } from './merge';
export { analyzeStudy, analyzeRows, meanCI, readStudy } from './analyze';
export type { StudyAnalysis, RegressionRow, LayerSummary, MeanCI } from './analyze';
export { layerTracingR2, rSquared, olsFit, olsSummary, oneHot } from './ols';
export { fSurvival, nestedFTest } from './fdist';
export { readResults, readManifest, ResultWriter, writeJsonAtomic, MANIFEST, RESULTS } from './store';
export { STUDY_METRICS, rowKey, shardCases } from './types';
export type { StudySpec, StudyShard, StudyManifest, StudyRow, StudyMetrics, StudyMetric, StudyProgress } from './types';
