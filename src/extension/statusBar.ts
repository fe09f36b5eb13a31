/** The status bar entry: the loaded model and how many edits are applied, a spinner while loading, a warning on failure. */
import * as vscode from 'vscode';
import type { EngineSession } from './engineSession';

export function createStatusBar(session: EngineSession): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('locus.status', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Locus';
  const render = () => {
    const s = session.status;
    const edits = session.edits.edits.length;
    if (s.kind === 'loading') {
      item.text = `$(loading~spin) Locus: ${s.what}`;
      item.tooltip = s.what;
    } else if (s.kind === 'error') {
      item.text = '$(warning) Locus';
      item.tooltip = s.message;
    } else if (session.model) {
      item.text = `$(symbol-class) ${session.model.name}${edits ? ` · ${edits} edit${edits > 1 ? 's' : ''}` : ''}`;
      item.tooltip = `Locus: ${session.model.name} (${session.model.architecture}, ${session.model.n_layers} layers) on ${session.model.device}${edits ? `, ${edits} applied edit(s)` : ''}`;
    } else {
      item.hide();
      return;
    }
    item.command = 'workbench.view.extension.locus';
    item.show();
  };
  const sub = session.onDidChange(render);
  render();
  return { dispose: () => (sub.dispose(), item.dispose()) };
}
