/**
 * The Logit Lens panel's messages (webview/lens ⇄ src/extension/panels/lensPanel.ts) and the worker's
 * `lens/run` params and result (src/protocol/engine.ts). The result is `locus lens --json` as it is
 * (CONTRACTS.md, "Next"): every layer's residual stream (blocks.{l}.resid_post) at every position
 * decoded through the model's final norm and unembedding (nostalgebraist 2020, "interpreting GPT: the
 * logit lens"); it is small (layers × positions × K tokens), so it travels as plain JSON.
 */
import type { WorkDoneParams } from '../engine';
import type { RenderTiming } from './fact';

/** The most tokens per cell the panel asks for (the CLI allows more; a tooltip cannot show them). */
export const LENS_MAX_TOP = 50;
/** Tokens per cell unless the user picks another K. */
export const LENS_DEFAULT_TOP = 5;

/** `lens/run`: the logit lens of `prompt` on the loaded (possibly edited) model. */
export interface LensParams extends WorkDoneParams {
  readonly prompt: string;
  /** Tokens per layer and position, highest first (default 5). */
  readonly top?: number;
  /** Follow this answer's first token (a leading space added when missing, as `locus lens --answer`). */
  readonly answer?: string;
}

export interface LensTokenDto {
  readonly id: number;
  readonly token: string;
  readonly logprob: number;
  readonly prob: number;
}

/** The answer's standing in one cell: rank 1 = the cell's top token. */
export interface LensAnswerDto extends LensTokenDto {
  readonly rank: number;
}

/** `lens/run`'s answer: the engine's LensResult (`locus lens --json`), field for field. */
export interface LensResultDto {
  readonly tokens: readonly string[];
  readonly ids: readonly number[];
  readonly answer?: { readonly id: number; readonly token: string; readonly text: string };
  readonly layers: ReadonlyArray<{ readonly layer: number; readonly positions: ReadonlyArray<{ readonly top: readonly LensTokenDto[]; readonly answer?: LensAnswerDto }> }>;
}

/** What the panel was asked to decode (the host keeps it; the webview's form edits answer and K). */
export interface LensRequestView {
  readonly prompt: string;
  readonly answer?: string;
  readonly top: number;
}

/** A result as the panel shows it: the numbers, what they were computed with and on. */
export interface LensView {
  readonly request: LensRequestView;
  readonly result: LensResultDto;
  /** The model's name and the edits applied when it ran (the lens reads the model as it is). */
  readonly model: string;
  readonly edits: readonly string[];
  readonly seconds: number;
}

/** Host → panel. */
export type LensToWebview = {
  /** On every `panel/ready`: the request, the last result (absent before the first run), an error, a running job. */
  'lens/init': {
    readonly request: LensRequestView;
    readonly model: { readonly name: string; readonly n_layers: number } | null;
    readonly view?: LensView;
    readonly error?: string;
    readonly running?: string;
  };
  'lens/result': { readonly requestId: string; readonly view: LensView };
  /** The model or its applied edits changed since the shown result was computed. */
  'lens/stale': { readonly reason: string };
};

/** Panel → host. */
export type LensFromWebview = {
  /** Decode the panel's prompt with this answer (empty: none) and K. */
  'lens/start': { readonly requestId: string; readonly answer?: string; readonly top: number };
  'render/timing': RenderTiming;
};
