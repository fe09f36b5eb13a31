/** The Model view: what is loaded (embedded default or a folder), its shape and size, the device, load warnings. */
import * as vscode from 'vscode';
import type { ModelInfo } from '../../protocol/dto';
import type { EngineSession } from '../engineSession';

interface Row {
  readonly label: string;
  readonly description?: string;
  readonly tooltip?: string;
  readonly icon?: string;
  readonly command?: vscode.Command;
}

export function modelRows(info: ModelInfo | undefined, choice: string, status: EngineSession['status']): Row[] {
  if (status.kind === 'loading') return [{ label: status.what, icon: 'loading~spin' }];
  const rows: Row[] = [];
  if (status.kind === 'error') rows.push({ label: 'Load failed', description: status.message, tooltip: status.message, icon: 'error' });
  if (!info) {
    rows.push({ label: choice === 'default' ? 'Embedded default model' : choice, description: 'not loaded', icon: 'circle-outline', command: { title: 'Load', command: 'locus.useDefaultModel' } });
    return rows;
  }
  const params = info.parameters >= 1e9 ? `${(info.parameters / 1e9).toFixed(2)} B` : `${(info.parameters / 1e6).toFixed(2)} M`;
  rows.push(
    { label: choice === 'default' ? `${info.name} (embedded)` : info.name, description: info.path, tooltip: info.path, icon: 'symbol-class' },
    { label: 'Architecture', description: info.architecture, icon: 'circuit-board' },
    { label: 'Layers', description: `${info.n_layers} × d_model ${info.d_model}, ${info.n_heads} heads`, icon: 'layers' },
    { label: 'Vocabulary', description: `${info.d_vocab} tokens, context ${info.n_ctx}`, icon: 'symbol-key' },
    { label: 'Parameters', description: params, icon: 'symbol-number' },
    { label: 'Device', description: info.device, icon: 'server-process' },
    { label: 'Fingerprint', description: info.fingerprint.slice(0, 12), tooltip: info.fingerprint, icon: 'key' },
  );
  for (const w of info.warnings) rows.push({ label: 'Warning', description: w, tooltip: w, icon: 'warning' });
  return rows;
}

export class ModelView implements vscode.TreeDataProvider<Row> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly session: EngineSession) {
    session.onDidChange((what) => {
      if (what === 'model' || what === 'status') this.changed.fire();
    });
  }

  getTreeItem(row: Row): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label);
    item.description = row.description;
    item.tooltip = row.tooltip;
    if (row.icon) item.iconPath = new vscode.ThemeIcon(row.icon);
    item.command = row.command;
    return item;
  }

  getChildren(row?: Row): Row[] {
    if (row) return [];
    // The view being shown is the cue to load: the extension itself activates without the engine.
    if (!this.session.model && this.session.status.kind === 'idle') void this.session.ready().catch(() => undefined);
    return modelRows(this.session.model, this.session.modelChoice, this.session.status);
  }
}
