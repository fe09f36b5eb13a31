// `npm start`: opens Locus for real.
//  - `code` on the PATH: builds, then opens a VS Code window with this checkout as the extension under
//    development (`--extensionDevelopmentPath`).
//  - otherwise: builds and packages the .vsix, installs it into a local code-server (pinned, installed
//    from npm on first use: scripts/codeServer.js) and serves VS Code on http://127.0.0.1:PORT until Ctrl-C.
// Either way the workspace is a demo folder with a `.prompts` file (or the folder given as argument).
//
//   npm start [-- FOLDER] [-- --code-server] [-- --port N]      (LOCUS_PORT=N works too)
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const codeServer = require('./codeServer');

const repo = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const folderArg = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--port');

const DEMO_PROMPTS = `# Locus prompts: each line gets "Probe · Trace" above it (CodeLens).
# Select text and run "Locus: Probe Selection", or hover over a selection.
# The embedded model knows these CounterFact facts (case ids 20952, 3648, 9012).
Angola is located in
What is the twin city of Shanghai? It is
Delta Goodrem, that originated in
`;

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: repo, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) throw new Error(`${what} failed (${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal})`);
}

/** The folder VS Code opens: the argument, else a demo folder under the tools cache (created once). */
function workspace() {
  if (folderArg) return path.resolve(folderArg);
  const dir = path.join(codeServer.toolsDir(), 'demo-workspace');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'facts.prompts');
  if (!fs.existsSync(file)) fs.writeFileSync(file, DEMO_PROMPTS);
  return dir;
}

function onPath(cmd) {
  const probe = process.platform === 'win32' ? spawnSync('where', [cmd]) : spawnSync('sh', ['-c', `command -v ${cmd}`]);
  return probe.status === 0;
}

function openInVsCode(ws) {
  run(process.execPath, ['esbuild.js'], 'building');
  console.log(`Opening VS Code with Locus from ${repo} on ${ws}. Click the Locus icon in the activity bar.`);
  run('code', ['--new-window', `--extensionDevelopmentPath=${repo}`, ws], 'starting VS Code');
}

async function freePort(preferred) {
  const tryPort = (port) =>
    new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(srv.address()?.port ?? port)));
    });
  return (await tryPort(preferred)) ?? (await new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  }));
}

async function serveInCodeServer(ws) {
  const install = codeServer.install();
  const vsix = spawnSync(process.execPath, [path.join(__dirname, 'package.js')], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (vsix.status !== 0) throw new Error('packaging the .vsix failed');
  const vsixPath = vsix.stdout.trim().split('\n').pop();
  const home = path.join(codeServer.toolsDir(), 'start');
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(home, 'xdg-config'),
    XDG_DATA_HOME: path.join(home, 'xdg-data'),
    // code-server's @vscode/deviceid would write ~/.cache/Microsoft/DeveloperTools/deviceid: keep it here.
    XDG_CACHE_HOME: path.join(home, 'xdg-cache'),
    PATH: `${path.dirname(install.node)}${path.delimiter}${process.env.PATH}`,
  };
  const dirs = ['--user-data-dir', path.join(home, 'user-data'), '--extensions-dir', path.join(home, 'extensions')];
  const settings = path.join(home, 'user-data', 'User', 'settings.json');
  if (!fs.existsSync(settings)) {
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    const quiet = { 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'security.workspace.trust.enabled': false,
      'chat.disableAIFeatures': true, 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'update.mode': 'none' };
    fs.writeFileSync(settings, JSON.stringify(quiet, null, 2)); // written once: later changes made in the UI are kept
  }
  const inst = spawnSync(install.node, [install.entry, ...dirs, '--install-extension', vsixPath, '--force'], { env, encoding: 'utf8' });
  if (inst.status !== 0) throw new Error(`installing ${vsixPath} into code-server failed:\n${inst.stdout}\n${inst.stderr}`);

  const port = await freePort(Number(option('--port') ?? process.env.LOCUS_PORT ?? 8719));
  const child = spawn(install.node, [install.entry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', ...dirs,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', ws],
  { env, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
  const logFile = path.join(home, 'code-server.log');
  const log = fs.createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`;
  const stop = () => {
    try {
      if (process.platform === 'win32') child.kill();
      else process.kill(-child.pid, 'SIGTERM'); // the extension host and the Locus worker too
    } catch {
      // already gone
    }
  };
  process.on('SIGINT', () => {
    stop();
    process.exit(0);
  });
  process.on('SIGTERM', () => {
    stop();
    process.exit(0);
  });
  child.on('exit', (code) => {
    console.error(`code-server exited (${code}); its log: ${logFile}`);
    process.exit(code ?? 1);
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(`\nLocus ${path.basename(vsixPath)} is running in code-server ${install.version} (VS Code in the browser).`);
  console.log(`Open  ${url}`);
  console.log('then click the Locus icon in the activity bar: the embedded model loads and the Facts view fills.');
  console.log(`Ctrl-C stops it. (log: ${logFile})`);
}

async function main() {
  const ws = workspace();
  if (!flag('--code-server') && onPath('code')) openInVsCode(ws);
  else await serveInCodeServer(ws);
}

main().catch((e) => {
  console.error(`npm start: ${e.message}`);
  process.exit(2);
});
