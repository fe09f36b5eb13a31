/**
 * The cost gate (issue 19 item 5): before a trace grid, a layer sweep or a study starts, ask the worker
 * what it will cost (`cost/estimate`, src/engine/cost) and, above the setting
 * `locus.confirmCostAboveSeconds` (default 30; 0 = always ask), let the user confirm or cancel in a
 * modal; below it, start at once with the estimate shown in the progress ("about 12 s"). Each start
 * site makes one call to `costGate`; Cancel means nothing starts and nothing is reported as an error.
 */
import type * as VSCode from 'vscode';
import type { CostEstimateDto, CostEstimateParams } from '../../protocol/cost';
import type { TraceParams } from '../../protocol/engine';
import type { RequestOptions } from '../workerClient';
import { EngineError } from '../workerClient';
import type { PanelContext } from './context';

export const COST_SETTING = 'confirmCostAboveSeconds';
export const DEFAULT_CONFIRM_ABOVE_SECONDS = 30;

/** Confirm when the threshold is 0 (always ask) or the estimate is above it; otherwise start. */
export function costGateDecision(seconds: number, thresholdSeconds: number): 'confirm' | 'start' {
  if (!(thresholdSeconds > 0)) return 'confirm';
  return !Number.isFinite(seconds) || seconds > thresholdSeconds ? 'confirm' : 'start';
}

/** "This trace grid: 3 kinds × 12 layers × 10 tokens = 360 cells × 10 samples = 3,600 runs, about 2 min on this machine." */
export function costMessage(label: string, est: CostEstimateDto): string {
  return `This ${label}: ${est.text}, ${est.duration} on this machine.`;
}

/** The progress line of a started job: "about 12 s (measured)" or "about 12 s (calibrated)". */
export const costProgressText = (est: CostEstimateDto): string => `${est.duration} (${est.basis})`;

export interface CostGateDeps {
  readonly estimate: () => Promise<CostEstimateDto>;
  /** The modal: true = Start. `detail` says where the number comes from. */
  readonly confirm: (message: string, detail: string) => Promise<boolean>;
  readonly thresholdSeconds: number;
}

export interface CostGateOutcome {
  readonly start: boolean;
  readonly estimate: CostEstimateDto;
  /** For the progress notification. */
  readonly progress: string;
}

/** The gate's logic, without VS Code (tests drive it with their own estimate and confirm). */
export async function passCostGate(label: string, deps: CostGateDeps): Promise<CostGateOutcome> {
  const estimate = await deps.estimate();
  const progress = costProgressText(estimate);
  if (costGateDecision(estimate.seconds, deps.thresholdSeconds) === 'start') return { start: true, estimate, progress };
  return { start: await deps.confirm(costMessage(label, estimate), estimate.note), estimate, progress };
}

/**
 * The one call of a start site: the estimate through the session's worker, the modal through VS Code.
 * Answers the progress text when the work may start, undefined when the user cancelled. An estimate
 * that fails (no model, a bad prompt) is not the gate's to report: the work starts, and its own
 * request reports the same problem where the user expects it.
 */
export async function costGate(ctx: PanelContext, label: string, params: CostEstimateParams, options: RequestOptions = {}): Promise<string | undefined> {
  // Loaded on call, so the logic above is testable under plain Node (where there is no gate: the work starts).
  let vscode: typeof VSCode;
  try {
    vscode = await import('vscode');
  } catch {
    return '';
  }
  const thresholdSeconds = vscode.workspace.getConfiguration('locus').get<number>(COST_SETTING, DEFAULT_CONFIRM_ABOVE_SECONDS);
  try {
    const out = await passCostGate(label, {
      estimate: () => ctx.session.request('cost/estimate', params, { token: options.token }),
      confirm: async (message, detail) => (await vscode.window.showWarningMessage(message, { modal: true, detail }, 'Start')) === 'Start',
      thresholdSeconds,
    });
    ctx.log(`[cost] ${label}: ${out.estimate.text}; ${out.estimate.duration} (${out.estimate.note})${out.start ? '' : '; cancelled'}`);
    if (out.start) options.onProgress?.({ kind: 'report', message: out.progress });
    return out.start ? out.progress : undefined;
  } catch (e) {
    if (e instanceof EngineError && e.code === 'cancelled') return undefined;
    ctx.log(`[cost] ${label}: no estimate (${e instanceof Error ? e.message : String(e)})`);
    return '';
  }
}

/** What a panel job throws when the user cancelled at the gate: the panel shows "Cancelled.", not an error. */
export const cancelledAtGate = (): EngineError => new EngineError('cancelled', 'Cancelled before it started.');

/** The job's options with the estimate kept beside every progress message ("layer 3 · estimated about 2 min"). */
export function withEstimate(options: RequestOptions, progress: string): RequestOptions {
  if (progress === '' || !options.onProgress) return options;
  const report = options.onProgress;
  return { ...options, onProgress: (p) => report({ ...p, message: p.message ? `${p.message} · estimated ${progress}` : `estimated ${progress}` }) };
}

/** The estimate's request for a trace grid: the same prompt, subject, kinds and samples as `trace/run`. */
export const traceCostParams = (p: TraceParams): CostEstimateParams => ({
  what: 'trace', prompt: p.prompt, subject: p.subject, ...(p.kinds ? { kinds: p.kinds } : {}), ...(p.samples !== undefined ? { samples: p.samples } : {}),
});
