import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, describeRun, failureTail, runCli } from './cliProcess';

/**
 * `npm run bench -- first-edit` (issue 17 item 3): what a new user waits for. The first ROME and the
 * first MEMIT edit on the embedded model, each as a `locus edit` process in a fresh working folder with
 * a fresh HOME and user cache, default settings (goal ≤ 10 s each; before the shipped statistics:
 * 70 s and 170 s on a quiet machine, nearly all computing C). Wall and CPU seconds (CPU is steadier on
 * a shared machine: wall ≈ CPU on a quiet one with one thread).
 */
const GOAL_S = 10;
const CASE = '20952';

export async function benchFirstEdit(threads: number): Promise<void> {
  if (!fs.existsSync(CLI)) {
    console.log(`first-edit: skipped, ${CLI} is missing (node esbuild.js cli)`);
    return;
  }
  console.log(`# first edit on the embedded model, fresh workspace and user cache, ${threads} thread(s)`);
  for (const method of ['rome', 'memit']) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'locus-first-edit-'));
    try {
      const env = { ...process.env, HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), XDG_CONFIG_HOME: path.join(home, '.config') };
      const r = await runCli(['edit', '--method', method, '--case', CASE, '--threads', String(threads), '--json'], { cwd: home, env });
      if (r.status !== 0) {
        console.log(`first ${method} edit: FAILED (exit ${r.status}): ${failureTail(r)}`);
        continue;
      }
      const notes: string[] = JSON.parse(r.stdout).notes ?? [];
      const computed = fs.existsSync(path.join(home, '.cache', 'locus', 'stats'));
      console.log(`first ${method} edit: ${describeRun(r)} (goal ≤ ${GOAL_S} s: ${r.wall <= GOAL_S ? 'ok' : 'OVER'}; cpu ${r.cpu <= GOAL_S ? 'within' : 'OVER'} it); statistics ${computed ? 'COMPUTED into the user cache' : 'read from the shipped files'}${notes.length ? `; notes: ${notes.length}` : ''}`);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }
}
