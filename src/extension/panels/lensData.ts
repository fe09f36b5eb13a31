/**
 * The Logit Lens panel's checks on the host side, without vscode (tested in Node): the command's
 * argument (`locus.openLogitLens`, which the Fact panel calls with its prompt and true answer) and the
 * webview's form (a message is data, not trusted code).
 */
import type { LensRequestView } from '../../protocol/panels/lens';
import { LENS_DEFAULT_TOP, LENS_MAX_TOP } from '../../protocol/panels/lens';

/** `locus.openLogitLens`'s argument. */
export interface LensArgs {
  readonly prompt: string;
  readonly answer?: string;
}

/**
 * The command's argument as `LensArgs`: undefined when there is none (the command then asks for a
 * prompt); a malformed one throws a readable message. An empty answer is no answer.
 */
export function lensArgs(arg: unknown): LensArgs | undefined {
  if (arg === undefined || arg === null) return undefined;
  const a = arg as Record<string, unknown>;
  if (typeof arg !== 'object' || typeof a.prompt !== 'string') throw new Error('Logit Lens takes { prompt: string, answer?: string }');
  if (a.prompt.trim() === '') throw new Error('The prompt is empty: give some text to decode layer by layer.');
  if (a.answer !== undefined && a.answer !== null && typeof a.answer !== 'string') throw new Error('The answer must be text');
  const answer = typeof a.answer === 'string' && a.answer.trim() !== '' ? a.answer : undefined;
  return { prompt: a.prompt, ...(answer !== undefined ? { answer } : {}) };
}

/** One panel per prompt. */
export const lensKey = (prompt: string): string => `lens:${prompt}`;

/** The panel's tab title: the prompt, cut short. */
export function lensTitle(prompt: string): string {
  const flat = prompt.replace(/\s+/g, ' ').trim();
  return `Lens: ${flat.length > 32 ? flat.slice(0, 31) + '…' : flat}`;
}

/** The webview's answer and K for the panel's prompt, checked. */
export function checkLensForm(prompt: string, form: { readonly answer?: unknown; readonly top?: unknown }): LensRequestView {
  const top = form.top ?? LENS_DEFAULT_TOP;
  if (typeof top !== 'number' || !Number.isInteger(top) || top < 1 || top > LENS_MAX_TOP) throw new Error(`K must be a whole number from 1 to ${LENS_MAX_TOP}`);
  if (form.answer !== undefined && form.answer !== null && typeof form.answer !== 'string') throw new Error('The answer must be text');
  const answer = typeof form.answer === 'string' && form.answer.trim() !== '' ? form.answer : undefined;
  return { prompt, top, ...(answer !== undefined ? { answer } : {}) };
}
