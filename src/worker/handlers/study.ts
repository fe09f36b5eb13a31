/** `sweep/run`, `study/run`, `study/analyze` (issue 7). */
import { LocusError } from '../../engine/index';
import type { HandlerTable, WorkerState } from '../state';

export function studyHandlers(_state: WorkerState): HandlerTable<'sweep/run' | 'study/run' | 'study/analyze'> {
  const todo = async (): Promise<never> => {
    throw new LocusError('bad-input', 'not available in this build yet: use the CLI (locus study)');
  };
  return { 'sweep/run': todo, 'study/run': todo, 'study/analyze': todo };
}
