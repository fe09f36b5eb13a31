/** The Edits view: the worker's applied-edit stack, oldest first, with revert (inline), revert all and export (title). */
import * as vscode from 'vscode';
import type { AppliedEditDto } from '../../protocol/dto';
import type { EngineSession } from '../engineSession';
import { editLabel } from './editLabel';

export class EditsView implements vscode.TreeDataProvider<AppliedEditDto> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly session: EngineSession) {
    session.onDidChange((what) => {
      if (what === 'edits' || what === 'model') this.changed.fire();
    });
  }

  getTreeItem(e: AppliedEditDto): vscode.TreeItem {
    const { label, description } = editLabel(e);
    const item = new vscode.TreeItem(label);
    item.description = description;
    item.tooltip = new vscode.MarkdownString([`**${label}**`, description, ...e.deltas.map((d) => `- \`${d.param}\` ‖Δ‖ = ${d.frobenius.toPrecision(4)}`)].join('\n\n'));
    item.iconPath = new vscode.ThemeIcon('edit');
    item.contextValue = 'edit';
    return item;
  }

  getChildren(e?: AppliedEditDto): AppliedEditDto[] {
    return e ? [] : [...this.session.edits.edits];
  }
}
