export { runSequential, checkSequentialSpec, batchCount } from './run';
export type { SequentialOptions, SequentialResult } from './run';
export { DEFAULT_HELD_OUT_TOKENS } from './heldOut';
export { readSequentialManifest, readBatches, SEQ_MANIFEST, SEQ_BATCHES } from './store';
export type { SequentialManifest } from './store';
export type { SequentialSpec, SequentialScores, WeightNorm, CurvePoint, BatchRecord, StoredDelta, SequentialProgress } from './types';
export { formatCurveTable, maxGrowth } from './table';
