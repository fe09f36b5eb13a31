/**
 * code-server for the end-to-end tests: the pinned install (scripts/codeServer.js, cached outside the
 * checkout), the packaged .vsix (scripts/package.js), and one server per test file on a free port of
 * 127.0.0.1 with its own user-data, extensions and XDG folders, in its own process group so that
 * `stop()` ends the extension host and the Locus worker with it.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { repoRoot, tempDir } from '../../helpers/paths';

export interface CodeServerInstall {
  readonly version: string;
  /** The Node binary code-server runs on (Node 24 for 4.139.x). */
  readonly node: string;
  /** code-server's `out/node/entry.js`. */
  readonly entry: string;
}

export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly workspace: string;
  readonly extensionsDir: string;
  /** code-server's own output (the extension host's logs are under userDataDir/logs). */
  readonly logFile: string;
  readonly userDataDir: string;
  /** Ends every process of the server (extension host and worker included); copies its logs to `logsTo` first. */
  stop(logsTo?: string): Promise<void>;
}

export interface StartOptions {
  /** Installed with `--install-extension` before the server starts. */
  readonly vsix?: string;
  readonly workspace: string;
}

function runScript(script: string, args: string[], what: string): string {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', script), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${(r.stderr || '').slice(-4000)}\n${(r.stdout || '').slice(-2000)}`);
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1];
}

/** Installs code-server once per machine (minutes, cold) and answers where it is. */
export function installCodeServer(): CodeServerInstall {
  return JSON.parse(runScript('codeServer.js', ['install'], 'installing code-server')) as CodeServerInstall;
}

/** `npm run package`'s work: production bundles and this platform's .vsix; answers its path. */
export function packageVsix(): string {
  const vsix = runScript('package.js', [], 'packaging the .vsix');
  if (!vsix.endsWith('.vsix') || !fs.existsSync(vsix)) throw new Error(`package.js printed ${vsix}, not a .vsix`);
  return vsix;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Quiet, deterministic workbench: no welcome page, tips, trust prompt, update checks or AI side bar. */
const SETTINGS = {
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'security.workspace.trust.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'window.restoreWindows': 'none',
};

export function codeServerEnv(install: CodeServerInstall, home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // code-server's config.yaml and data land here instead of ~/.config and ~/.local
    XDG_CONFIG_HOME: path.join(home, 'xdg-config'),
    XDG_DATA_HOME: path.join(home, 'xdg-data'),
    // VS Code's @vscode/deviceid writes $XDG_CACHE_HOME/Microsoft/DeveloperTools/deviceid (default
    // ~/.cache) at startup, telemetry off or not: keep it in the session's folder, out of the user's cache.
    XDG_CACHE_HOME: path.join(home, 'xdg-cache'),
    PATH: `${path.dirname(install.node)}${path.delimiter}${process.env.PATH ?? ''}`,
  };
}

async function waitHealthy(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server did not answer ${url}/healthz within 60 s:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
}

/** Kills a process group: SIGTERM, then SIGKILL for whatever is left after `graceMs`. */
export async function killGroup(pid: number, graceMs = 3000): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(-pid, 'SIGKILL');
}

export async function startCodeServer(install: CodeServerInstall, opts: StartOptions): Promise<CodeServer> {
  const home = tempDir('locus-e2e-cs-');
  const userDataDir = path.join(home, 'user-data');
  const extensionsDir = path.join(home, 'extensions');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
  const env = codeServerEnv(install, home);
  const dirs = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  if (opts.vsix) {
    const r = spawnSync(install.node, [install.entry, ...dirs, '--install-extension', opts.vsix], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`code-server --install-extension ${opts.vsix} failed:\n${r.stdout}\n${r.stderr}`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(home, 'code-server.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    install.node,
    [install.entry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', ...dirs, '--disable-telemetry', '--disable-update-check',
      '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened', opts.workspace],
    { env, detached: true, stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const pid = child.pid!;
  // Even if the test process dies without running its hooks, do not leave servers behind.
  const onExit = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.on('exit', onExit);
  const stop = async (logsTo?: string) => {
    process.off('exit', onExit);
    await killGroup(pid);
    if (logsTo) {
      fs.mkdirSync(logsTo, { recursive: true });
      fs.cpSync(logFile, path.join(logsTo, 'code-server.log'));
      const hostLogs = path.join(userDataDir, 'logs');
      if (fs.existsSync(hostLogs)) fs.cpSync(hostLogs, path.join(logsTo, 'logs'), { recursive: true });
    }
    fs.rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitHealthy(url, child, logFile);
  } catch (e) {
    await killGroup(pid);
    throw e;
  }
  return { url, port, workspace: opts.workspace, extensionsDir, logFile, userDataDir, stop };
}
