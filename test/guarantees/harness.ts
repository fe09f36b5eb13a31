/**
 * Data-driven guarantee rows (issue 15): each row runs the real CLI (`node dist/cli.js`, built by
 * `npm test`'s pretest) as a user would and checks its exit status, that stderr is exactly one line
 * matching a pattern, and that the files it must not touch are byte-for-byte unchanged.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths';

export const cliPath = path.join(repoRoot, 'dist', 'cli.js');

/** Root bypasses file permissions: permission rows run the CLI as "nobody" there (see `unprivileged`). */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const NOBODY = 65534;

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) after this many ms; the run reports the signal. */
  readonly killAfterMs?: number;
  /** Called once the process has started (e.g. to send it a signal later). */
  readonly onSpawn?: (pid: number) => void;
  /**
   * Run as an unprivileged user (uid/gid 65534, "nobody") when this process is root, so that file
   * permissions apply as they do for a real user (root reads and writes everything).
   */
  readonly unprivileged?: boolean;
}

/** Runs `node dist/cli.js ...argv` to completion. */
export function runCli(argv: readonly string[], opts: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const drop = opts.unprivileged && isRoot ? { uid: NOBODY, gid: NOBODY } : {};
    const child = spawn(process.execPath, [cliPath, ...argv], { cwd: opts.cwd ?? repoRoot, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], ...drop });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** sha256 of a file, or of every file under a folder (relative names included); 'absent' when missing. */
export function digest(p: string): string {
  if (!fs.existsSync(p)) return 'absent';
  const h = crypto.createHash('sha256');
  const visit = (q: string, rel: string): void => {
    const st = fs.lstatSync(q);
    if (st.isDirectory()) for (const n of fs.readdirSync(q).sort()) visit(path.join(q, n), path.join(rel, n));
    else h.update(`${rel}\0`).update(st.isFile() ? fs.readFileSync(q) : `(${st.mode})`);
  };
  visit(p, '');
  return h.digest('hex');
}

export interface GuaranteeRow {
  /** What the row shows, as the test's name. */
  readonly name: string;
  /** argv after `node dist/cli.js`; a function when it needs the fixture folder. */
  readonly argv: readonly string[] | (() => readonly string[]);
  /** Expected exit status (2 for a user error). */
  readonly exit: number;
  /** stderr must match this; with exit 2, stderr must also be exactly one line. */
  readonly message?: RegExp;
  /** Paths that must be byte-for-byte unchanged (or still absent) after the run. */
  readonly unchanged?: readonly string[] | (() => readonly string[]);
  /** Paths that must not exist after the run. */
  readonly absent?: readonly string[] | (() => readonly string[]);
  readonly cwd?: () => string;
  readonly env?: () => NodeJS.ProcessEnv;
  /** Set up before the run (create files); runs after earlier rows. */
  readonly before?: () => void;
  /** Run as an unprivileged user when root (rows about permissions). */
  readonly unprivileged?: boolean;
  /** Why it is skipped here. */
  readonly skip?: string | false;
}

const resolveList = (v: readonly string[] | (() => readonly string[]) | undefined): readonly string[] => (v === undefined ? [] : typeof v === 'function' ? v() : v);

/** Asserts a finished run against a row's expectations. */
export function checkRun(row: Pick<GuaranteeRow, 'exit' | 'message'>, r: CliRun): void {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(r.code, row.exit, `exit ${r.code} (signal ${r.signal}); stderr:\n${r.stderr}\nstdout:\n${r.stdout.slice(0, 2000)}`);
  if (row.message) assert.match(r.stderr, row.message);
  if (row.exit === 2) {
    assert.equal(lines.length, 1, `a user error is one line; stderr:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /bug in Locus|unexpected error|\n\s+at /, 'no stack, no "bug" wording');
  }
}

/** One `node:test` test per row. */
export function guaranteeRows(rows: readonly GuaranteeRow[]): void {
  for (const row of rows) {
    test(row.name, { skip: row.skip || false }, async () => {
      row.before?.();
      const watched = resolveList(row.unchanged);
      const before = watched.map(digest);
      const r = await runCli(typeof row.argv === 'function' ? row.argv() : row.argv, { cwd: row.cwd?.(), env: row.env?.(), unprivileged: row.unprivileged });
      checkRun(row, r);
      watched.forEach((p, i) => assert.equal(digest(p), before[i], `${p} must be unchanged`));
      for (const p of resolveList(row.absent)) assert.ok(!fs.existsSync(p), `${p} must not exist`);
    });
  }
}

