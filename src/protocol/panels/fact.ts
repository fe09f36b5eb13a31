/**
 * The Fact panel's messages (webview/fact ⇄ src/extension/panels/factPanel.ts), in the envelope of
 * ../panels.ts: every request that runs a job carries a `requestId`; the host answers with its result
 * message, then `job/done` (or `job/error`). Trace grids travel as Float32Array (structured clone),
 * never as nested JSON arrays. Saved runs (`.locus/runs/*.json`) hold the JSON DTOs instead.
 */
import type { EditingProblem, EditMethod, EditMethodDto, EditResultDto, ProbeResultDto, TraceKind, TraceResultDto } from '../dto';
import type { TraceCellDto, TracePreviewDto } from '../engine';

/** The fact the panel is about, resolved by the host (a dataset record or a free prompt). */
export interface FactView {
  /** Set for a CounterFact record. */
  readonly caseId?: number;
  readonly relationId?: string;
  /** The prompt with the subject filled in. */
  readonly prompt: string;
  readonly subject: string;
  /** Where the subject starts in `prompt` (its first occurrence, as the engine traces it). */
  readonly subjectStart: number;
  readonly targetTrue?: string;
  readonly targetNew?: string;
  /** The answer to trace instead of the model's top-1 (Trace Selection with a target). */
  readonly traceTarget?: string;
  /** False for a free prompt: there is no target_new to edit towards. */
  readonly canEdit: boolean;
  /** Why editing is off, shown under the form. */
  readonly editNote?: string;
}

/** The model the results came from (enough to label axes and fill the layer picker). */
export interface ModelSummary {
  readonly name: string;
  readonly n_layers: number;
  readonly architecture: string;
  /** The editing methods the worker offers (its engine's registry): the method select and the sweep's checkboxes list these. Absent in runs saved before it. */
  readonly methods?: readonly EditMethodDto[];
}

/** One tracing grid on the wire: scores[t * layers + l] = score with (token t, layer l) restored. */
export interface TraceGridWire {
  readonly kind: TraceKind;
  readonly window: number;
  readonly tokens: number;
  readonly layers: number;
  readonly scores: Float32Array;
}

/** A trace result as the panel receives it: TraceResultDto with the grids packed and the answer as its text. */
export type TraceView = Omit<TraceResultDto, 'ids' | 'answer' | 'grids'> & {
  readonly answer: string;
  readonly grids: readonly TraceGridWire[];
};

/**
 * The attribution-patching estimate of a trace grid (issue 19 item 4) as the panel receives it: drawn at
 * once, labelled approximate, and replaced cell by cell by the exact trace's `trace/cells`.
 */
export type TracePreviewView = Omit<TracePreviewDto, 'ids' | 'answer' | 'grids'> & {
  readonly answer: string;
  readonly grids: readonly TraceGridWire[];
};

/** A running trace's preview and the exact cells that replaced it so far (sent again in fact/init after a reload). */
export interface TraceStreamView {
  readonly requestId: string;
  readonly preview: TracePreviewView;
  readonly cells: readonly TraceCellDto[];
}

/** Where a result was saved, or why it was not (no workspace folder). */
export interface SaveNote {
  readonly savedAs?: string;
  readonly note?: string;
}

/** The edit form's values. `layer` absent = the method's preset. */
export interface EditFormValues {
  readonly method: EditMethod;
  readonly problem: EditingProblem;
  readonly layer?: number;
  /** Parsed JSON object of reference hparams (snake_case), or absent. */
  readonly hparams?: Readonly<Record<string, unknown>>;
  /** "Apply anyway": apply the edit even when its pre-flight safety checks flag it. */
  readonly force?: boolean;
}

/** Trace options the panel exposes (the rest are the engine's defaults, as ROME's). */
export interface TraceOptions {
  readonly window?: number;
  readonly samples?: number;
  /** Trace this answer instead of the model's top-1. */
  readonly target?: string;
  /** Draw the grid's attribution preview first, replaced cell by cell (the panel's checkbox; default true). */
  readonly preview?: boolean;
}

/** Host → Fact panel. (Type aliases, not interfaces: a MessageMap needs an implicit index signature.) */
export type FactToWebview = {
  /** The panel's state, sent on every `panel/ready` (a reloaded webview gets everything back). */
  'fact/init': {
    readonly fact: FactView | null;
    readonly model: ModelSummary | null;
    /** Set when the fact cannot be shown (prompt without the subject, unknown case id, model failed to load). */
    readonly error?: string;
    /** A saved run: results shown, actions off. */
    readonly saved?: { readonly file: string; readonly created: string };
    readonly probe?: ProbeResultDto;
    readonly trace?: TraceView & SaveNote;
    readonly edit?: EditResultDto & SaveNote;
    /** The last re-trace with the applied edits (shown again after a reload). */
    readonly retrace?: RetraceView;
    /** The running trace's preview and its exact cells so far. */
    readonly traceStream?: TraceStreamView;
    /** Ids of the panel's edits still applied in the worker. */
    readonly applied: readonly string[];
    /** Jobs still running, so a reloaded webview can follow them. */
    readonly running: { readonly probe?: string; readonly trace?: string; readonly edit?: string; readonly revert?: string };
  };
  'probe/result': { readonly requestId: string; readonly probe: ProbeResultDto };
  'trace/result': { readonly requestId: string; readonly trace: TraceView & SaveNote };
  /** The trace's attribution preview, before any exact cell (only when the options asked for it). */
  'trace/preview': { readonly requestId: string; readonly preview: TracePreviewView };
  /** Exact cells that finished since the last message: they replace the preview's. */
  'trace/cells': { readonly requestId: string; readonly cells: readonly TraceCellDto[] };
  'edit/result': { readonly requestId: string; readonly edit: EditResultDto & SaveNote };
  /** The applied-edit stack changed (a revert here or in the Edits view, a worker restart). */
  'edit/applied': { readonly applied: readonly string[] };
  'retrace/result': { readonly requestId: string; readonly retrace: RetraceView };
};

/** Fact panel → host. */
export type FactFromWebview = {
  'probe/start': { readonly requestId: string };
  'trace/start': { readonly requestId: string; readonly options: TraceOptions };
  'edit/start': { readonly requestId: string; readonly form: EditFormValues };
  'edit/revert': { readonly requestId: string; readonly id: string };
  'render/timing': RenderTiming;
  /** Trace the model with the applied edits and without them (same draws): original, edited, difference. */
  'retrace/start': { readonly requestId: string; readonly options: TraceOptions };
  /** Open the logit lens of the fact's prompt and answer (command locus.openLogitLens). */
  'lens/open': Record<never, never>;
};

/** Webview → host note: milliseconds from receiving data to the frame after the DOM and charts were updated. */
export interface RenderTiming {
  readonly what: string;
  readonly ms: number;
}

/** `data` of a saved trace run (`runs.save('trace', …)`). */
export interface SavedTraceData {
  readonly fact: FactView;
  readonly model: ModelSummary | null;
  readonly trace: TraceResultDto;
}

/** `data` of a saved edit run (`runs.save('edit', …)`); the Compare panel reads these. */
export interface SavedEditData {
  readonly fact: FactView;
  readonly model: ModelSummary | null;
  readonly form: EditFormValues;
  readonly edit: EditResultDto;
}

export const EDITING_PROBLEM_NAMES: readonly EditingProblem[] = ['error-injection', 'tracing-reversal', 'fact-erasure', 'fact-amplification', 'fact-forcing'];
export const TRACE_KIND_NAMES: readonly TraceKind[] = ['hidden', 'mlp', 'attn'];

/**
 * A re-trace as the panel receives it (`trace/retrace`, locus trace --edit): the edited model's trace,
 * the original's grids and scores (the file's weights, same noise draws and answer), edited − original
 * per cell, and the applied edits' layers (marked on the maps).
 */
export interface RetraceView {
  readonly edited: TraceView;
  readonly original: { readonly highScore: number; readonly lowScore: number; readonly grids: readonly TraceGridWire[] };
  readonly difference: readonly TraceGridWire[];
  readonly edit: { readonly method: string; readonly layers: readonly number[] };
}
