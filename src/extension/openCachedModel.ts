/**
 * Locus: Open Model from Hugging Face Cache… — lists the models already downloaded (the worker reads
 * the cache, offline), shows family, size and dtype before anything loads, and says why a model cannot
 * be opened. Picking one loads its snapshot folder the way "Load Model Folder…" does.
 */
import * as vscode from 'vscode';
import type { CachedModelsDto } from '../protocol/dto';
import { cachedModelItems } from './cachedModelItems';
import type { CachedModelItem } from './cachedModelItems';
import type { EngineSession } from './engineSession';
import { errorMessage, isCancellation } from './errors';

type Row = vscode.QuickPickItem & { readonly item: CachedModelItem };

/** `loadFolder` is the command's own loader (progress, the "loaded …" message, failures). */
export async function openCachedModel(session: EngineSession, loadFolder: (folder: string) => Promise<void>): Promise<void> {
  const setting = vscode.workspace.getConfiguration('locus').get<string>('huggingFaceCache', '').trim();
  let listed: CachedModelsDto | undefined;
  // The worker lists the cache (the extension never imports the engine); no model is loaded for it.
  const rows = session.client.request('model/cached', setting ? { cacheDir: setting } : {}).then((r) => {
    listed = r;
    return cachedModelItems(r.models).map(
      (item): Row => (item.separator ? { label: item.label, kind: vscode.QuickPickItemKind.Separator, item } : { label: item.label, description: item.description, detail: item.detail, item }),
    );
  });
  let picked: Row | undefined;
  try {
    // An empty cache is said in a message, not as an empty list.
    const ready = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Locus: reading the Hugging Face cache…' }, () => rows);
    if (ready.length === 0) {
      void vscode.window.showInformationMessage(
        `Locus: no models in the Hugging Face cache at ${listed?.cacheDir}. Locus never downloads: fetch one with \`huggingface-cli download org/name\` (or set locus.huggingFaceCache), or use Load Model Folder….`,
      );
      return;
    }
    picked = await vscode.window.showQuickPick(ready, {
      title: `Locus: models in the Hugging Face cache (${listed?.cacheDir})`,
      placeHolder: 'Pick a model to load; the ones Locus cannot open say why',
      matchOnDescription: true,
    });
  } catch (e) {
    if (!isCancellation(e)) void vscode.window.showErrorMessage(`Locus: could not read the Hugging Face cache: ${errorMessage(e)}`);
    return;
  }
  const model = picked?.item.model;
  if (!model) return;
  if (model.problem || !model.path) {
    void vscode.window.showWarningMessage(`Locus: ${model.repoId} cannot be opened: ${model.problem?.reason ?? 'it has no snapshot'}`);
    return;
  }
  await loadFolder(model.path);
}
