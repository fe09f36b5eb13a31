/** The panels behind PanelOpeners (src/extension/commands.ts). */
import * as vscode from 'vscode';
import type { PanelOpeners } from '../commands';
import { ComparePanel } from './comparePanel';
import type { PanelContext } from './context';
import { FactPanel } from './factPanel';
import { LensPanel, openLogitLensCommand } from './lensPanel';
import { sequentialEditingCommand } from './sequentialPanel';
import { runStudyCommand, StudyPanel } from './studyPanel';

export function panelOpeners(ctx: PanelContext): PanelOpeners & vscode.Disposable {
  return {
    openFact: (ref) => void FactPanel.show(ctx, ref),
    openSavedRun: (file) => {
      try {
        FactPanel.showSavedRun(ctx, file);
      } catch (e) {
        void vscode.window.showErrorMessage(`Locus: cannot open ${file}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
    openCompare: (args) => void ComparePanel.show(ctx, args),
    openStudy: (dir) => void StudyPanel.show(ctx, dir),
    runStudy: () => runStudyCommand(ctx),
    sequentialEditing: () => sequentialEditingCommand(ctx),
    openLogitLens: (arg) => openLogitLensCommand(ctx, arg),
    dispose: () => {
      FactPanel.disposeAll();
      ComparePanel.disposeAll();
      LensPanel.disposeAll();
    },
  };
}
