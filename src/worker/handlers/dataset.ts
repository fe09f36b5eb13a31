/** `dataset/load`: read a CounterFact file, keep it for `edit/run` caseIds, answer a summary. */
import * as path from 'node:path';
import { defaultDatasetPath, loadCounterFact } from '../../engine/index';
import type { HandlerTable, WorkerState } from '../state';
import { check } from '../state';

export function datasetHandlers(state: WorkerState): HandlerTable<'dataset/load'> {
  return {
    'dataset/load': async (p, ctx) => {
      const file = path.resolve(p.path === undefined || p.path === null ? defaultDatasetPath() : check.string(p.path, 'path'));
      ctx.progress({ message: `reading ${file}` });
      const records = loadCounterFact(file);
      state.dataset = { path: file, records };
      return {
        path: file,
        count: records.length,
        records: records.map((r) => ({
          case_id: r.case_id,
          subject: r.requested_rewrite.subject,
          relation_id: r.requested_rewrite.relation_id,
          prompt: r.requested_rewrite.prompt,
          target_true: r.requested_rewrite.target_true.str,
          target_new: r.requested_rewrite.target_new.str,
        })),
      };
    },
  };
}
