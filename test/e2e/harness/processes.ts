/** Finding the Locus worker that a test's code-server started (Linux /proc; other workers on the machine are left alone). */
import * as fs from 'node:fs';

function cmdline(pid: string): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return []; // exited while we looked
  }
}

/** Pids of `node …/dist/worker.js` processes whose script lies under `extensionsDir`. */
export function workerPids(extensionsDir: string): number[] {
  const pids: number[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const args = cmdline(pid);
    if (args.some((a) => a.startsWith(extensionsDir) && a.endsWith('/dist/worker.js'))) pids.push(Number(pid));
  }
  return pids;
}

/** The single worker under `extensionsDir`, waiting up to `timeoutMs` for it to exist. */
export async function waitForWorker(extensionsDir: string, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = workerPids(extensionsDir);
    if (pids.length === 1) return pids[0];
    if (pids.length > 1) throw new Error(`more than one Locus worker under ${extensionsDir}: ${pids.join(', ')}`);
    if (Date.now() > deadline) throw new Error(`no Locus worker process under ${extensionsDir} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
