/**
 * `cost/estimate` (issue 19 item 5): the work a trace grid, a layer sweep or a study would do and its
 * estimated time on this machine, before it starts (src/engine/cost). Answered from counts and the
 * user-level cost file, plus one short calibration forward when nothing was measured for the model.
 */
import type { EditingProblem, EditMethod, FactCaseDto, TraceKind } from './dto';
import type { WorkDoneParams } from './engine';

/** What to estimate: the same fields as the request that would start it (`trace/run`, `sweep/run`, `study/run`). */
export type CostEstimateParams = WorkDoneParams &
  (
    | { readonly what: 'trace'; readonly prompt: string; readonly subject: string; readonly kinds?: readonly TraceKind[]; readonly samples?: number }
    | { readonly what: 'sweep'; readonly caseId?: number; readonly case?: FactCaseDto; readonly methods: readonly EditMethod[]; readonly layers?: readonly number[] }
    | {
        readonly what: 'study';
        readonly dir: string;
        readonly cases: string;
        readonly methods: readonly EditMethod[];
        readonly problems?: readonly EditingProblem[];
        readonly layers?: readonly number[];
        readonly localization?: 'noise' | 'patching';
      }
  );

/** The engine's CostEstimate as JSON (`locus ... --estimate --json` prints the same fields). */
export interface CostEstimateDto {
  /** The counted work: `kind` trace | sweep | study and its counts (src/engine/cost/work.ts). */
  readonly work: { readonly kind: 'trace' | 'sweep' | 'study' } & Readonly<Record<string, unknown>>;
  readonly seconds: number;
  /** The seconds as the panels show them ("about 2 min"). */
  readonly duration: string;
  readonly basis: 'measured' | 'calibrated';
  /** Where the number comes from ("estimate from a 0.2 s calibration run …"). */
  readonly note: string;
  /** The work in words ("1 kind × 4 layers × 9 tokens = 36 cells × 10 samples = 360 runs"). */
  readonly text: string;
}
