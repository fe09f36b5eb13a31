/** The cost preview (issue 19 item 5): work counted exactly, seconds from measured costs on this machine. */
export { traceWork, sweepWork, studyWork } from './work';
export type { Work, TraceWork, SweepWork, StudyWork, GridCount } from './work';
export { estimateCost, formatSeconds, workText } from './estimate';
export type { CostEstimate, CostBasis, EstimateOptions } from './estimate';
export { measuredCost, recordCost, userCostFile, effectiveThreads } from './store';
export type { CostUnit, MeasuredCost } from './store';
export { recordTraceCost, recordEditCosts, recordStudyCosts } from './record';
