import * as vscode from 'vscode';

/**
 * Activation stays cheap: no engine here. The engine runs in a worker process (issue 6); for now the
 * extension registers its command category so the manifest is real from day one.
 */
export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('locus.showEngineInfo', () => {
      const version = (context.extension.packageJSON as { version?: string }).version ?? 'unknown';
      void vscode.window.showInformationMessage(
        `Locus ${version}: the engine runs GPT-2 and GPT-J Hugging Face folders. Until the panels land, use the CLI: node dist/cli.js probe --model PATH --prompt TEXT`,
      );
    }),
  );
}

export function deactivate(): void {}
