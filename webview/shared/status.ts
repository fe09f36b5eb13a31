/**
 * A job's status line: `data-state` idle|running|done|error on the root (the e2e tests wait on it), a
 * vscode-progress-bar (determinate when the job reports done/total), a text and a Cancel button.
 * Every path out of `running` goes through `finish`, so nothing is ever left spinning.
 */
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import type { VscodeProgressBar } from '@vscode-elements/elements/dist/vscode-progress-bar/vscode-progress-bar.js';
import { h } from './dom';

export type JobState = 'idle' | 'running' | 'done' | 'error';

export class JobStatus {
  private readonly bar: VscodeProgressBar;
  private readonly text: HTMLSpanElement;
  readonly cancel: HTMLButtonElement;
  /** The running job's request id (undefined when none runs). */
  requestId: string | undefined;

  constructor(
    readonly root: HTMLElement,
    cancelId: string,
    onCancel: (requestId: string) => void,
  ) {
    this.bar = h('vscode-progress-bar', { hidden: true, 'aria-label': 'progress' });
    this.text = h('span', { class: 'status-text' });
    this.cancel = h('button', { id: cancelId, type: 'button', class: 'secondary', hidden: true }, 'Cancel');
    this.cancel.addEventListener('click', () => {
      if (this.requestId) onCancel(this.requestId);
      this.cancel.disabled = true;
    });
    root.setAttribute('role', 'status');
    root.setAttribute('aria-live', 'polite');
    root.append(this.bar, this.text, this.cancel);
    this.finish('idle', '');
  }

  get state(): JobState {
    return this.root.dataset.state as JobState;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  start(requestId: string, text: string): void {
    this.requestId = requestId;
    this.root.dataset.state = 'running';
    this.bar.hidden = false;
    this.bar.value = undefined;
    this.text.textContent = text;
    this.cancel.hidden = false;
    this.cancel.disabled = false;
  }

  progress(done: number | undefined, total: number | undefined, message: string | undefined): void {
    if (!this.running) return;
    if (done !== undefined && total !== undefined && total > 0) {
      this.bar.max = total;
      this.bar.value = done;
      this.text.textContent = `${message ? message + ' — ' : ''}${done} / ${total}`;
    } else if (message) {
      this.text.textContent = message;
    }
  }

  finish(state: Exclude<JobState, 'running'>, text: string): void {
    this.requestId = undefined;
    this.root.dataset.state = state;
    this.bar.hidden = true;
    this.bar.value = undefined;
    this.text.textContent = text;
    this.cancel.hidden = true;
  }
}
