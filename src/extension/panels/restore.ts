/**
 * Brings Locus panels back after a window reload: VS Code keeps a panel's last webview state and, when
 * the window comes back, hands it to the serializer of its viewType. Every Locus webview keeps its
 * PanelOrigin in that state (webview/shared/vscodeApi.ts), and the hosts re-send their data on
 * `panel/ready`, so reviving is opening the same thing again into the restored panel. A state without
 * a readable origin closes the panel rather than showing an empty one.
 */
import * as vscode from 'vscode';
import { ComparePanel } from './comparePanel';
import type { PanelContext, PanelOrigin } from './context';
import { FactPanel } from './factPanel';
import { LensPanel } from './lensPanel';
import { SequentialPanel } from './sequentialPanel';
import { StudyPanel } from './studyPanel';

export function originOf(state: unknown): PanelOrigin | undefined {
  const o = (state as { locusOrigin?: PanelOrigin } | null | undefined)?.locusOrigin;
  if (!o || typeof o !== 'object') return undefined;
  if (o.kind === 'fact' && o.ref && typeof o.ref === 'object') return o;
  if (o.kind === 'saved-run' && typeof o.file === 'string') return o;
  if (o.kind === 'study' && typeof o.dir === 'string') return o;
  if (o.kind === 'sequential' && typeof o.dir === 'string') return o;
  if (o.kind === 'compare') return o;
  if (o.kind === 'lens' && typeof o.prompt === 'string') return o;
  return undefined;
}

function revive(ctx: PanelContext, panel: vscode.WebviewPanel, state: unknown): void {
  const origin = originOf(state);
  try {
    if (!origin) throw new Error('no saved origin');
    if (origin.kind === 'fact') FactPanel.show(ctx, origin.ref, panel);
    else if (origin.kind === 'saved-run') FactPanel.showSavedRun(ctx, origin.file, panel);
    else if (origin.kind === 'study') StudyPanel.show(ctx, origin.dir, panel);
    else if (origin.kind === 'sequential') SequentialPanel.show(ctx, origin.dir, undefined, panel);
    else if (origin.kind === 'lens') LensPanel.show(ctx, { prompt: origin.prompt, ...(typeof origin.answer === 'string' ? { answer: origin.answer } : {}) }, panel);
    else ComparePanel.show(ctx, {}, panel);
  } catch (e) {
    ctx.log(`[restore] closing a ${panel.viewType} panel that cannot be restored: ${e instanceof Error ? e.message : String(e)}`);
    panel.dispose();
  }
}

export function registerPanelSerializers(ctx: PanelContext): vscode.Disposable[] {
  return [FactPanel.viewType, ComparePanel.viewType, StudyPanel.viewType, SequentialPanel.viewType, LensPanel.viewType].map((viewType) =>
    vscode.window.registerWebviewPanelSerializer(viewType, { deserializeWebviewPanel: async (panel, state) => revive(ctx, panel, state) }),
  );
}
