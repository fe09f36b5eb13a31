/** What every panel needs from the extension: where its bundles are, the engine session, the runs store, the log. */
import type * as vscode from 'vscode';
import type { EngineSession } from '../engineSession';
import type { RunsStore } from '../runs';

export interface PanelContext {
  readonly extensionUri: vscode.Uri;
  readonly session: EngineSession;
  readonly runs: RunsStore;
  readonly log: (text: string) => void;
}

/**
 * What a panel was opened on, kept in its webview state so VS Code can restore it after a window reload
 * (src/extension/panels/restore.ts): the host re-sends the data on `panel/ready`, so this is all it needs.
 */
export type PanelOrigin =
  | { readonly kind: 'fact'; readonly ref: FactRef }
  | { readonly kind: 'saved-run'; readonly file: string }
  | { readonly kind: 'compare' }
  | { readonly kind: 'study'; readonly dir: string }
  | { readonly kind: 'sequential'; readonly dir: string }
  | { readonly kind: 'lens'; readonly prompt: string; readonly answer?: string };

/** What the Fact panel opens on: a dataset record, or a free prompt (Trace Selection) with its subject. */
export type FactRef =
  | { readonly caseId: number }
  | { readonly prompt: string; readonly subject: string; readonly target?: string };
