/**
 * Inline prompt probing from any editor: "Probe Selection" (a quick pick of the next-token
 * distribution), a hover over a selection (the same as a small table), "Trace Selection" (asks for the
 * subject, pre-filled from a second selection or the longest capitalised span, then opens the Fact
 * panel on that prompt), and a CodeLens "Probe · Trace" above each line of `*.prompts` files.
 */
import * as vscode from 'vscode';
import type { ProbeResultDto } from '../../protocol/dto';
import type { EngineSession } from '../engineSession';
import { errorMessage } from '../engineSession';
import { isCancellation } from '../errors';
import { bar, probeMarkdown, showToken } from './format';
import { guessSubject } from './subject';

export const topKSetting = (): number => vscode.workspace.getConfiguration('locus').get<number>('probe.topK', 10);

export async function probeWithProgress(session: EngineSession, prompt: string): Promise<ProbeResultDto | undefined> {
  if (!prompt.trim()) {
    void vscode.window.showWarningMessage('Locus: select some text to probe (the prompt whose next token you want).');
    return undefined;
  }
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Locus: probing…', cancellable: false }, () =>
      session.request('probe/run', { prompt, k: topKSetting() }),
    );
  } catch (e) {
    if (!isCancellation(e)) void vscode.window.showErrorMessage(`Locus: probe failed: ${errorMessage(e)}`);
    return undefined;
  }
}

export async function showProbe(session: EngineSession, prompt: string): Promise<ProbeResultDto | undefined> {
  const r = await probeWithProgress(session, prompt);
  if (!r) return undefined;
  const pick = vscode.window.createQuickPick();
  pick.title = `Locus: next token after “${prompt.length > 50 ? '…' + prompt.slice(-50) : prompt}”`;
  pick.placeholder = `${session.model?.name ?? 'model'}${session.edits.edits.length ? ` with ${session.edits.edits.length} edit(s)` : ''} — top ${r.top.length}`;
  pick.items = r.top.map((t) => ({ label: showToken(t.token), description: `${(t.prob * 100).toFixed(2)}%`, detail: `${bar(t.prob)}  log p ${t.logprob.toFixed(3)}` }));
  pick.onDidHide(() => pick.dispose());
  pick.show();
  return r;
}

/** Trace a free prompt: the subject from `subjectHint` (a second selection) or typed, pre-filled with a guess. */
export async function askSubject(prompt: string, subjectHint?: string): Promise<string | undefined> {
  if (subjectHint && subjectHint.trim() && prompt.includes(subjectHint.trim())) return subjectHint.trim();
  return vscode.window.showInputBox({
    title: 'Locus: Trace — which words are the subject?',
    prompt: `The subject is corrupted with noise; it must occur in the prompt: “${prompt}”`,
    value: guessSubject(prompt),
    validateInput: (s) => (!s.trim() ? 'Type the subject (e.g. "The Space Needle").' : prompt.includes(s.trim()) ? undefined : `The subject “${s.trim()}” does not occur in the prompt: type words from the prompt exactly.`),
  });
}

export class SelectionHover implements vscode.HoverProvider {
  constructor(private readonly session: EngineSession) {}

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const editor = vscode.window.activeTextEditor;
    const sel = editor?.document === doc ? editor.selections.find((s) => !s.isEmpty && s.contains(pos)) : undefined;
    if (!sel) return undefined;
    const prompt = doc.getText(sel);
    if (!prompt.trim() || prompt.length > 2000) return undefined;
    try {
      const r = await this.session.request('probe/run', { prompt, k: Math.min(topKSetting(), 10) }, { token });
      const md = new vscode.MarkdownString(probeMarkdown(prompt, r));
      return new vscode.Hover(md, sel);
    } catch (e) {
      return new vscode.Hover(new vscode.MarkdownString(`**Locus**: ${errorMessage(e)}`), sel);
    }
  }
}

/** "Probe · Trace" above each non-empty line of a `.prompts` file (lines starting with # are comments). */
export class PromptsCodeLens implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const lenses: vscode.CodeLens[] = [];
    for (let i = 0; i < doc.lineCount; i++) {
      const text = doc.lineAt(i).text;
      if (!text.trim() || text.trimStart().startsWith('#')) continue;
      const range = new vscode.Range(i, 0, i, text.length);
      lenses.push(
        new vscode.CodeLens(range, { title: 'Probe', command: 'locus.probeLine', arguments: [doc.uri, i] }),
        new vscode.CodeLens(range, { title: 'Trace', command: 'locus.traceLine', arguments: [doc.uri, i] }),
      );
    }
    return lenses;
  }
}
