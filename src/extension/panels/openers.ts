/** The panels behind PanelOpeners (src/extension/commands.ts). */
import * as vscode from 'vscode';
import type { PanelOpeners } from '../commands';
import type { PanelContext } from './context';

export function panelOpeners(_ctx: PanelContext): PanelOpeners {
  const pending = (what: string) => void vscode.window.showInformationMessage(`Locus: the ${what} panel is not in this build yet.`);
  return {
    openFact: () => pending('Fact'),
    openSavedRun: () => pending('Run'),
    openCompare: () => pending('Compare'),
    openStudy: () => pending('Study'),
    runStudy: async () => pending('Study'),
  };
}
