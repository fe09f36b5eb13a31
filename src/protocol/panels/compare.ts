/**
 * The Compare panel's messages (webview/compare ⇄ src/extension/panels/comparePanel.ts): (a) two saved
 * edit runs side by side, (b) a layer sweep of one fact (`sweep/run`) drawn over its tracing effect.
 * Same envelope as ../panels.ts: jobs carry a requestId; results come before `job/done`.
 */
import type { EditingProblem, EditMethod, SweepResultDto } from '../dto';
import type { FactView, ModelSummary, RenderTiming, SaveNote, SavedEditData } from './fact';

/** A saved edit run the pickers offer. */
export interface EditRunChoice {
  readonly file: string;
  readonly label: string;
  readonly created: string;
}

/** A dataset record the sweep's fact picker offers. */
export interface CaseChoice {
  readonly caseId: number;
  readonly subject: string;
  readonly prompt: string;
}

export interface SweepFormValues {
  readonly caseId: number;
  readonly methods: readonly EditMethod[];
  readonly problem: EditingProblem;
  /** Absent = every layer. */
  readonly layers?: readonly number[];
}

/** What the sweep chart and table show (the result and the fact it was run on). */
export interface SweepView extends SaveNote {
  readonly fact: FactView | null;
  readonly sweep: SweepResultDto;
}

/** `data` of a saved sweep run (`runs.save('sweep', …)`). */
export interface SavedSweepData {
  readonly fact: FactView | null;
  readonly model: ModelSummary | null;
  readonly form: SweepFormValues;
  readonly sweep: SweepResultDto;
}

/** One side of the edit comparison. */
export interface EditSide {
  readonly file: string;
  readonly label: string;
  readonly created: string;
  readonly data: SavedEditData;
}

/** Host → Compare panel. */
export type CompareToWebview = {
  /** Sent on every `panel/ready` and when the panel is shown with new arguments. */
  'compare/init': {
    readonly model: ModelSummary | null;
    readonly runs: readonly EditRunChoice[];
    readonly cases: readonly CaseChoice[];
    /** Pickers preselected (ComparePanel.show's editIds, or the newest two). */
    readonly left?: EditSide;
    readonly right?: EditSide;
    readonly caseId?: number;
    readonly sweep?: SweepView;
    /** A saved sweep run: shown, the sweep form off. */
    readonly saved?: { readonly file: string; readonly created: string };
    readonly running: { readonly sweep?: string };
    readonly error?: string;
  };
  'compare/side': { readonly side: 'left' | 'right'; readonly edit: EditSide | null; readonly error?: string };
  'sweep/result': { readonly requestId: string; readonly result: SweepView };
};

/** Compare panel → host. */
export type CompareFromWebview = {
  'compare/pick': { readonly side: 'left' | 'right'; readonly file: string };
  'sweep/start': { readonly requestId: string; readonly form: SweepFormValues };
  'render/timing': RenderTiming;
};
