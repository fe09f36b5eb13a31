/** The regression study (seed paper §6): run, merge, analyze. */
export { runStudy, lockStudy, dedupeSpec, MAX_STUDY_SEED } from './run';
export { lockFolder, LOCK } from './lock';
export type { FolderLock, LockHolder } from './lock';
export { runSweep, studyTracingEffect, STUDY_TRACE } from './sweep';
export type { SweepRequest, SweepOptions, SweepProgress, SweepPoint, SweepResult, StudyTracingEffect } from './sweep';
export type { StudyRunOptions, StudyRunSummary } from './run';
export { mergeStudies, mergeRows, sortRows } from './merge';
export type { MergeSummary } from './merge';
export { analyzeStudy, analyzeRows, meanCI, readStudy, requireStudy } from './analyze';
export type { StudyAnalysis, RegressionRow, LayerSummary, MeanCI } from './analyze';
export { layerTracingR2, rSquared, olsFit, olsSummary, oneHot } from './ols';
export { fSurvival, nestedFTest } from './fdist';
export { readResults, readResultsWithLength, readManifest, assertUniqueKeys, ResultWriter, writeJsonAtomic, MANIFEST, RESULTS } from './store';
export { STUDY_METRICS, rowKey, shardCases, studyRate, formatStudyRate } from './types';
export type { StudySpec, StudyShard, StudyManifest, StudyRow, StudyMetrics, StudyMetric, StudyProgress } from './types';
