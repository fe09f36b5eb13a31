/** The panel's one error box (`#error`, role=alert): the latest error, visible until the next action starts. */
import { byId } from './dom';

export function showError(message: string): void {
  const box = byId('error');
  box.textContent = message;
  box.hidden = false;
}

export function clearError(): void {
  const box = byId('error');
  box.textContent = '';
  box.hidden = true;
}
