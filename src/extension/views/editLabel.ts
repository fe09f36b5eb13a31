/** How an applied edit reads in the Edits view: "e1 ROME layer 0" / "Danielle Darrieux → English (error-injection)". Pure. */
import type { AppliedEditDto } from '../../protocol/dto';

const METHOD_LABEL: Readonly<Record<string, string>> = { rome: 'ROME', memit: 'MEMIT', ft: 'FT-1', ft5: 'FT-5' };

export function editLabel(e: AppliedEditDto): { label: string; description: string } {
  const layers = e.layers.length === 1 ? `layer ${e.layers[0]}` : `layers ${e.layers[0]}–${e.layers[e.layers.length - 1]}`;
  const what = e.subjects.map((s, i) => `${s} → ${e.targets[i] ?? '?'}`).join('; ');
  return { label: `${e.id} ${METHOD_LABEL[e.method] ?? e.method} ${layers}`, description: `${what} (${e.problem})` };
}
