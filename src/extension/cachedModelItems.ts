/**
 * How the Hugging Face cache's models read in the "Open Model from Hugging Face Cache…" quick pick:
 * the ones Locus can open first, each with family, parameters, dtype and size; the others after, with
 * the reason. No vscode import, so it is unit-tested; the command is openCachedModel.ts.
 */
import type { CachedModelDto } from '../protocol/dto';
import { formatBytes, formatCount } from '../protocol/units';

/** A quick-pick row (vscode.QuickPickItem's fields) with the model it stands for; `separator` rows head a group. */
export interface CachedModelItem {
  readonly label: string;
  readonly description?: string;
  readonly detail?: string;
  readonly separator?: true;
  readonly model?: CachedModelDto;
}


/** "llama · 1.24B params · BF16 · 2.3 GiB": what is known of it, before loading. */
export function describeCachedModel(m: CachedModelDto): string {
  const parts = [m.modelType ?? 'unknown family'];
  if (m.parameters !== undefined) parts.push(`${formatCount(m.parameters)} params`);
  if (m.dtype) parts.push(m.dtype);
  parts.push(formatBytes(m.sizeBytes));
  return parts.join(' · ');
}

/** The rows: openable models, then (under their own heading) the others with why not. */
export function cachedModelItems(models: readonly CachedModelDto[]): CachedModelItem[] {
  const open = models.filter((m) => !m.problem);
  const closed = models.filter((m) => m.problem);
  const items: CachedModelItem[] = open.map((m) => ({ label: m.repoId, description: describeCachedModel(m), detail: m.revision ? `revision ${m.revision.slice(0, 12)}` : undefined, model: m }));
  if (closed.length > 0) {
    items.push({ label: 'cannot be opened', separator: true });
    for (const m of closed) items.push({ label: `$(circle-slash) ${m.repoId}`, description: describeCachedModel(m), detail: m.problem?.reason, model: m });
  }
  return items;
}
