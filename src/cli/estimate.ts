/** `--estimate` (issue 19 item 5): print a cost preview instead of running — text, or JSON `{ work, seconds, basis, note, text }`. */
import type { CostEstimate } from '../engine/index';
import { formatSeconds } from '../engine/index';
import type { CliIO } from './io';

export const ESTIMATE_HELP = `  --estimate            print the work and the estimated time on this machine (measured by earlier
                        runs, or from a short calibration run), then exit without running; with
                        --json: { "work": {...}, "seconds": n, "basis": "measured"|"calibrated", "note", "text" }`;

export function printEstimate(io: CliIO, what: string, est: CostEstimate, json: boolean): void {
  if (json) return io.out(JSON.stringify({ work: est.work, seconds: est.seconds, basis: est.basis, note: est.note, text: est.text }, null, 2));
  io.out(`${what}: ${est.text}`);
  io.out(`time     ${formatSeconds(est.seconds)} on this machine (${est.seconds.toFixed(1)} s; ${est.basis}: ${est.note})`);
}
