/** The Edit form's method choices: the loaded model's list (the worker's registry, ModelSummary.methods), never a list of our own. */
import type { EditMethodDto } from '../../src/protocol/dto';
import { byId, h } from '../shared/dom';

/** Options for `methods` (label shown, summary as the tooltip); keeps the current choice when it still exists. */
export function fillMethods(methods: readonly EditMethodDto[]): void {
  const select = byId<HTMLSelectElement>('edit-method');
  const current = select.value;
  select.replaceChildren(...methods.map((m) => h('option', { value: m.id, title: m.summary }, m.label)));
  if (methods.some((m) => m.id === current)) select.value = current;
}
