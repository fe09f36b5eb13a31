/**
 * The Facts view: the loaded CounterFact file grouped by relation (P17 "{} is located in the country of"),
 * each fact as "subject" with "→ target_true · #case_id"; a filter over subject, targets, relation and id.
 * Clicking a fact opens its Fact panel.
 */
import * as vscode from 'vscode';
import type { EngineSession } from '../engineSession';
import type { FactNode } from './factsGrouping';
import { groupByRelation } from './factsGrouping';

export class FactsView implements vscode.TreeDataProvider<FactNode> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private filterText = '';
  view?: vscode.TreeView<FactNode>;

  constructor(private readonly session: EngineSession) {
    session.onDidChange((what) => {
      if (what === 'dataset' || what === 'status') this.changed.fire();
    });
  }

  get filter(): string {
    return this.filterText;
  }

  setFilter(text: string): void {
    this.filterText = text;
    void vscode.commands.executeCommand('setContext', 'locus.factsFiltered', text.trim() !== '');
    if (this.view) this.view.description = text.trim() ? `filter: ${text.trim()}` : undefined;
    this.changed.fire();
  }

  getTreeItem(node: FactNode): vscode.TreeItem {
    if (node.kind === 'relation') {
      const item = new vscode.TreeItem(`${node.relation}  ${node.template.replace('{}', '…')}`, this.filterText ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
      item.description = `${node.records.length}`;
      // The id carries the filter so a filtered tree opens expanded even where the user collapsed the group before.
      item.id = `${node.relation}|${this.filterText.trim()}`;
      item.tooltip = `${node.relation}: "${node.template}" (${node.records.length} facts)`;
      item.iconPath = new vscode.ThemeIcon('symbol-namespace');
      return item;
    }
    const r = node.record;
    const item = new vscode.TreeItem(r.subject);
    item.description = `→ ${r.target_true} · #${r.case_id}`;
    item.tooltip = new vscode.MarkdownString(`**${r.prompt.replace('{}', r.subject)}** ${r.target_true}\n\ncase ${r.case_id} · ${r.relation_id} · counterfactual: ${r.target_new}`);
    item.iconPath = new vscode.ThemeIcon('symbol-field');
    item.contextValue = 'fact';
    item.command = { title: 'Open Fact', command: 'locus.openFact', arguments: [r.case_id] };
    return item;
  }

  getChildren(node?: FactNode): FactNode[] {
    if (node?.kind === 'relation') return node.records.map((record) => ({ kind: 'fact', record }));
    if (node) return [];
    const ds = this.session.dataset;
    if (!ds) {
      if (this.session.status.kind === 'idle') void this.session.ready().catch(() => undefined);
      return [];
    }
    return groupByRelation(ds.records, this.filterText);
  }
}
