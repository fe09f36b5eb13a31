/** The Runs view: saved traces, edits, sweeps and studies from `.locus/runs/`, newest first; refreshed by a file watcher. */
import * as vscode from 'vscode';
import type { RunEntry, RunsStore } from '../runs';

const ICON: Record<RunEntry['kind'], string> = { trace: 'graph', edit: 'edit', sweep: 'graph-line', study: 'beaker' };

export class RunsView implements vscode.TreeDataProvider<RunEntry>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private watcher?: vscode.FileSystemWatcher;

  constructor(private readonly runs: RunsStore) {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (folder) {
      this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '.locus/runs/**'));
      const refresh = () => this.refresh();
      this.watcher.onDidCreate(refresh);
      this.watcher.onDidDelete(refresh);
    }
  }

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(run: RunEntry): vscode.TreeItem {
    const item = new vscode.TreeItem(run.label);
    item.description = `${run.kind} · ${new Date(run.created).toLocaleString()}`;
    item.tooltip = run.path;
    item.iconPath = new vscode.ThemeIcon(ICON[run.kind]);
    item.contextValue = `run.${run.kind}`;
    item.resourceUri = vscode.Uri.file(run.path);
    item.command = { title: 'Open Run', command: 'locus.openRun', arguments: [run.path, run.kind] };
    return item;
  }

  getChildren(run?: RunEntry): RunEntry[] {
    return run ? [] : this.runs.list();
  }

  dispose(): void {
    this.watcher?.dispose();
    this.changed.dispose();
  }
}
